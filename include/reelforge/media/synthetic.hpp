#pragma once
// Synthetic frames that look enough like footage to exercise an encoder honestly: moving
// gradients and shapes with film-like noise. Flat colours would flatter any encoder; pure noise
// would be unrepresentative. Deterministic, so benchmarks and tests are repeatable.

#include <cstdint>
#include <opencv2/core/mat.hpp>

#include "reelforge/media/presets.hpp"

namespace reelforge::media {

struct SyntheticOptions {
  double noise_sigma = 4.0;  // grain, in 8-bit levels; 0 = clean
  uint64_t seed = 1;
};

// Frame `index` of a moving scene (CV_8UC3 RGB, exactly `size`).
cv::Mat synthetic_frame(FrameSize size, int64_t index, const SyntheticOptions& options = {});

}  // namespace reelforge::media
