#pragma once
// The training twin of models::WanDiT: the same network (Wan 2.1 / 2.2 DiT blocks, 3D RoPE,
// per-token timesteps) as plain differentiable ATen ops over trainable weights under the official
// checkpoint names, batched over same-sized latents. A map trained here and exported loads into
// WanDiT unchanged and computes the same function (tests/training checks them against each other).

#include <ATen/core/Tensor.h>

#include "reelforge/models/wan_dit.hpp"
#include "reelforge/training/weights.hpp"

namespace reelforge::training {

// Fresh weights for `config` under the official names, initialised for training from scratch:
// matrices N(0, 1/sqrt(fan_in)) (WanDiT::random), biases zero, block modulations zero and the
// output projection zero, so the untrained network predicts zero velocity and every block starts
// as a gentle perturbation of the identity (the "adaLN-zero" practice of DiT training).
NamedWeights init_dit_weights(const models::WanDiTConfig& config, uint64_t seed);

// Where dit_forward hands out its residual stream for a training-only head: after
// `after_blocks` blocks (1..num_layers), as [B, tokens, dim] float32 in patch order (frame, row,
// column). after_blocks 0 or no `hidden`: no tap.
struct DiTTap {
  int64_t after_blocks = 0;
  at::Tensor* hidden = nullptr;
};

// x [B, in_dim, F, H, W]; t [B] or [B, tokens] (per-token timesteps in 0..1000, any dtype);
// text [B, text_len, text_dim] (the text encoder's rows, zero past each prompt's length).
// Matmuls in `compute_dtype` (kFloat or kBFloat16), residual stream, norms, RoPE and softmax in
// float32, as WanDiT. Returns the network's output [B, out_dim, F, H, W] float32: the velocity, or
// the clean latent when config.prediction is Clean (models::velocity_from_output converts it).
at::Tensor dit_forward(const NamedWeights& w, const models::WanDiTConfig& config,
                       const at::Tensor& x, const at::Tensor& t, const at::Tensor& text,
                       at::ScalarType compute_dtype, const DiTTap& tap = {});

}  // namespace reelforge::training
