#pragma once
// Size rules of the Wan models, checked at the edge so a bad size becomes a clear
// Error(InvalidArgument) naming the nearest valid values instead of a crash deep inside a
// convolution. The VAE compresses time 4x causally (frame 0 alone, then groups of 4), so videos
// have 1 + 4k frames; space shrinks by the VAE stride and then by the DiT patch size, so pixel
// sizes must be multiples of their product and latent sizes multiples of the patch.

#include <array>
#include <cstdint>
#include <string>

namespace reelforge::models {

// Latent frames of a video of `frames` frames: 1 + (frames - 1) / temporal_stride.
// Error(InvalidArgument) unless `frames` is 1 + temporal_stride * k, e.g.
// "frame count 80 is not 1 + 4k; nearest valid: 77 or 81".
int64_t validate_frame_count(int64_t frames, int64_t temporal_stride = 4);

// Error(InvalidArgument) unless both sizes are positive multiples of vae_stride * patch, e.g.
// "width 1000 px is not a multiple of 16 (VAE stride 8 x patch 2); nearest valid: 992 or 1008".
void validate_pixel_size(int64_t width_px, int64_t height_px, int64_t vae_stride, int64_t patch);

// A latent [C, F, H, W] the DiT can take: F, H, W positive multiples of the patch size
// (pt, ph, pw). Error(InvalidArgument) naming the axis and the nearest valid values.
void validate_latent_size(int64_t frames, int64_t height, int64_t width,
                          const std::array<int64_t, 3>& patch);

// The valid values `offset + step * k` around an invalid `value`, as message text: "nearest valid:
// 77 or 81", or "smallest valid: 16" when `value` lies below the smallest positive one.
std::string nearest_valid(int64_t value, int64_t step, int64_t offset = 0);

}  // namespace reelforge::models
