#pragma once
// The Wan 2.1 VAE as an autograd-safe forward: the training twin of models::WanVAE. The inference
// class runs chunk by chunk with feature caches and in-place ops; this runs the whole clip at once
// with the causal context expressed as zero padding and explicit frame slicing, which gives the
// same result (tests compare both) while every op stays differentiable.
//
// Weights come from a NamedWeights map under WanVAE::named_parameters()'s official names (e.g.
// trainable_copy(vae.named_parameters())), so a trained map saves to a checkpoint WanVAE loads.
// Latents here are un-normalised (the conv1 / conv2 side of the reference), unlike WanVAE's
// encode() / decode(), which apply the latent mean / std.

#include <ATen/core/Tensor.h>

#include <utility>

#include "reelforge/models/wan_vae.hpp"
#include "reelforge/training/weights.hpp"

namespace reelforge::training {

// Un-normalised mu and log_var [B, z, 1 + (T - 1) / 4 (per temporal_stride), H / 8, W / 8]
// float32 of video [B, 3, T, H, W] in [-1, 1]. Convolutions and matmuls run in compute_dtype
// (kFloat or kBFloat16), RMS norms and the attention in float32. Error(InvalidArgument) for Wan
// 2.2 configs, T != 1 + 4k, or H / W not multiples of the spatial stride.
std::pair<at::Tensor, at::Tensor> vae_encode_moments(const NamedWeights& w,
                                                     const models::WanVAEConfig& config,
                                                     const at::Tensor& video,
                                                     at::ScalarType compute_dtype);

// Un-normalised z [B, z, F, h, w] -> video [B, 3, 1 + temporal_stride (F - 1), 8 h, 8 w]
// float32, unclamped.
at::Tensor vae_decode(const NamedWeights& w, const models::WanVAEConfig& config,
                      const at::Tensor& z, at::ScalarType compute_dtype);

}  // namespace reelforge::training
