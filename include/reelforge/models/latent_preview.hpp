#pragma once
// A fast preview of a latent while it is being sampled: a linear map from the z latent channels
// to RGB (a 3 x z matrix plus a bias, a few dozen multiply-adds per latent pixel), enlarged to the
// frame size. It is a rough picture, not a decode, but it costs nothing next to a DiT step, so
// the UI can show one after every step.
//
// Coefficients are fitted by least squares from latents and the frames the real VAE decodes them
// to (fit()); docs/vae.md says how. The defaults are the latent_rgb_factors ComfyUI publishes for
// the Wan 2.1 and Wan 2.2 VAEs.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "reelforge/models/wan_vae.hpp"

namespace reelforge::models {

enum class PreviewFilter { Nearest, Bilinear };

class LatentPreview {
 public:
  // weight [3, z], bias [3] (any float dtype; stored as float32 on the CPU).
  // Error(InvalidArgument) for other shapes.
  LatentPreview(const at::Tensor& weight, const at::Tensor& bias);

  // The published factors for a released VAE (normalised latents in, RGB in about [-1, 1] out).
  static LatentPreview for_version(WanVAEVersion version);

  // Least-squares fit of RGB ~ weight * latent + bias. `latents` [B, z, F, h, w] (normalised, as
  // the sampler holds them) and `frames` [B, 3, T, H, W] what the VAE decoded them to, with
  // T = 1 + t_stride (F - 1) and H, W multiples of h, w. Frames are averaged over each latent
  // pixel's footprint (frame 0 for latent frame 0, then groups of t_stride) before the solve, in
  // float64 by the normal equations. Error(InvalidArgument) for inconsistent shapes or fewer
  // samples than z + 1.
  static LatentPreview fit(const at::Tensor& latents, const at::Tensor& frames);

  const at::Tensor& weight() const { return weight_; }  // [3, z] float32
  const at::Tensor& bias() const { return bias_; }      // [3] float32
  int64_t latent_channels() const { return weight_.size(1); }

  // latent [z, F, h, w] or [B, z, F, h, w] -> RGB of the same rank with 3 channels, at latent
  // resolution, unclamped (about [-1, 1]).
  at::Tensor project(const at::Tensor& latent) const;
  // project(), enlarged to width_px x height_px and mapped to [0, 1]: what the UI shows.
  at::Tensor render(const at::Tensor& latent, int64_t width_px, int64_t height_px,
                    PreviewFilter filter = PreviewFilter::Bilinear) const;

 private:
  at::Tensor weight_, bias_;
};

}  // namespace reelforge::models
