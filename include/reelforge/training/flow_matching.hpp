#pragma once
// The DiT stage's training objective: flow matching with a velocity target.

#include <ATen/core/Tensor.h>

#include <random>

namespace reelforge::training {

// A training sample's noise level: u drawn uniform on (0, 1) (logit_spread 0) or logit-normal,
// u = sigmoid(z) with z ~ N(0, logit_spread) (Esser et al. 2024), then the sampler's shift,
// sigma = shift * u / (1 + (shift - 1) * u). The logit-normal puts most samples in the middle
// of the schedule (at shift 3, spread 1: 73% of them in sigma 0.5-0.9, against 50% uniform),
// where the objects' shapes form, at the cost of the ends.
double draw_sigma(std::mt19937_64& rng, double shift, double logit_spread);

// The loss of predicted velocities `velocity` against `target` (noise - x0), both [B, C, F, H, W].
// `weight` (broadcastable to them, >= 0) says how much each latent pixel counts: 0 on the
// conditioning frames, more on objects when the recipe weights them. `sigma` is each sample's
// noise level, [B] or [B, 1, 1, 1, 1].
//
// With sigma_power 0 this is the weighted mean of the squared velocity error. With p > 0 each
// sample's error also counts sigma^p / (the batch's mean of sigma^p), over the same denominator,
// so the loss keeps its scale while the high-noise samples, where layout and motion form, count
// more. The velocity error is the clean-latent error divided by sigma, so the plain loss weights
// the clean latent's error by 1 / sigma^2 and p = 2 weights it evenly across noise levels.
at::Tensor flow_matching_loss(const at::Tensor& velocity, const at::Tensor& target,
                              const at::Tensor& weight, const at::Tensor& sigma,
                              double sigma_power);

}  // namespace reelforge::training
