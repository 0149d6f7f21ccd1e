#pragma once
// Times the post-processing a generated clip goes through before encoding: frame-rate conversion
// (Retimer) from the model's native rate and upscaling (Upscaler) to the output preset, on
// synthetic frames (media/synthetic.hpp) that move like footage.

#include <cstdint>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/interpolate.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/media/upscale.hpp"

namespace reelforge::media {

struct PostBenchmarkOptions {
  FrameSize native_size{832, 480};
  int source_frames = 17;  // a short Wan clip is 1 + 4k frames
  double src_fps = 16.0;
  double dst_fps = 24.0;
  InterpolationMethod method = InterpolationMethod::MotionCompensated;
  FlowPreset flow_preset = FlowPreset::Medium;
  FrameSize output_size{1920, 1080};
  UpscaleOptions upscale;
};

struct PostBenchmarkResult {
  int source_frames = 0;
  int64_t output_frames = 0;       // floor(source_frames * dst_fps / src_fps)
  double retime_s = 0;             // wall time of the whole retime (flow included)
  double retime_s_per_frame = 0;   // per output frame
  double upscale_s = 0;            // wall time of upscaling every output frame
  double upscale_s_per_frame = 0;  // per output frame
  InterpolationStats interpolation;
};

// Error(InvalidArgument) for bad sizes, rates or counts; Error(Cancelled) on cancellation.
PostBenchmarkResult run_post_benchmark(const PostBenchmarkOptions& options,
                                       const ProgressCallback& progress = {},
                                       const CancellationToken& cancel = {});

}  // namespace reelforge::media
