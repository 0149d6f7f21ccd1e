#pragma once
// Seeded starting noise. The noise is always drawn on the CPU from a generator seeded with `seed`
// and then moved, so a seed gives the same start on the CPU and on CUDA, and the same tensor bit
// for bit on every run on the same machine. (Wan's own scripts draw on the GPU, so a seed does not
// reproduce their videos; nothing could, across RNG implementations.)

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace reelforge::sampling {

// Standard normal noise of `shape` (float32 draw, then cast to `dtype` and moved to `device`).
// Error(InvalidArgument) for a negative dimension or a non-floating dtype.
at::Tensor make_noise(at::IntArrayRef shape, uint64_t seed, at::ScalarType dtype = at::kFloat,
                      at::Device device = at::kCPU);

}  // namespace reelforge::sampling
