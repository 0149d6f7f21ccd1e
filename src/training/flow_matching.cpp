#include "reelforge/training/flow_matching.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace reelforge::training {

double draw_sigma(std::mt19937_64& rng, double shift, double logit_spread) {
  double u;
  if (logit_spread > 0) {
    u = 1.0 / (1.0 + std::exp(-std::normal_distribution<double>(0.0, logit_spread)(rng)));
  } else {
    u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }
  return shift * u / (1.0 + (shift - 1.0) * u);
}

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
