#include "reelforge/training/flow_matching.hpp"

#include <ATen/ATen.h>

namespace reelforge::training {

at::Tensor flow_matching_loss(const at::Tensor& velocity, const at::Tensor& target,
                              const at::Tensor& weight, const at::Tensor& sigma,
                              double sigma_power) {
  const at::Tensor count = weight.expand_as(target).sum().clamp_min(1.0);
  at::Tensor w = weight;
  if (sigma_power != 0) {
    const at::Tensor per_sample = sigma.reshape({-1, 1, 1, 1, 1}).pow(sigma_power);
    w = w * (per_sample / per_sample.mean());
  }
  return ((velocity - target).pow(2) * w).sum() / count;
}

}  // namespace reelforge::training
