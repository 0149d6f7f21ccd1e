#include "reelforge/media/post_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/media/synthetic.hpp"

namespace reelforge::media {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

PostBenchmarkResult run_post_benchmark(const PostBenchmarkOptions& options,
                                       const ProgressCallback& progress,
                                       const CancellationToken& cancel) {
  if (options.source_frames < 2 || options.source_frames > 10000) {
    throw Error(ErrorCategory::InvalidArgument, "source frame count " +
                                                    std::to_string(options.source_frames) +
                                                    " is out of range; valid: 2 to 10000");
  }
  if (!(options.src_fps > 0) || !(options.dst_fps > 0) || !std::isfinite(options.src_fps) ||
      !std::isfinite(options.dst_fps)) {
    throw Error(ErrorCategory::InvalidArgument, "frame rates must be positive");
  }
  PostBenchmarkResult result;
  result.source_frames = options.source_frames;
  // The clip's duration at the output rate; the epsilon keeps 17 * 24 / 16 = 25.5 -> 25 from
  // being thrown off by rounding in exact cases such as 16 * 24 / 16 = 24.
  result.output_frames =
      int64_t(std::floor(options.source_frames * options.dst_fps / options.src_fps + 1e-9));

  // Made before timing: the benchmark is about post-processing, not about drawing test frames.
  std::vector<cv::Mat> source;
  source.reserve(size_t(options.source_frames));
  for (int i = 0; i < options.source_frames; ++i) {
    cancel.throw_if_cancelled("post benchmark");
    source.push_back(synthetic_frame(options.native_size, i));
  }

  Retimer retimer(options.src_fps, options.dst_fps, result.output_frames, options.method,
                  options.flow_preset);
  std::vector<cv::Mat> retimed;
  retimed.reserve(size_t(result.output_frames));
  const auto retime_start = Clock::now();
  for (int i = 0; i < options.source_frames; ++i) {
    cancel.throw_if_cancelled("post benchmark");
    for (cv::Mat& f : retimer.push(source[size_t(i)])) retimed.push_back(std::move(f));
    if (progress) progress({"retime", i + 1, options.source_frames, "frame-rate conversion"});
  }
  for (cv::Mat& f : retimer.finish()) retimed.push_back(std::move(f));
  result.retime_s = seconds_since(retime_start);
  result.interpolation = retimer.stats();

  Upscaler upscaler(options.output_size, options.upscale);
  cv::Mat upscaled;  // one buffer for all frames, as an encoding loop would use it
  const auto upscale_start = Clock::now();
  for (size_t i = 0; i < retimed.size(); ++i) {
    cancel.throw_if_cancelled("post benchmark");
    upscaler.run(retimed[i], upscaled);
    if (progress) progress({"upscale", int64_t(i + 1), int64_t(retimed.size()), "upscaling"});
  }
  result.upscale_s = seconds_since(upscale_start);

  const double frames = double(std::max<int64_t>(result.output_frames, 1));
  result.retime_s_per_frame = result.retime_s / frames;
  result.upscale_s_per_frame = result.upscale_s / frames;
  return result;
}

}  // namespace reelforge::media
