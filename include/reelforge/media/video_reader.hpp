#pragma once
// Decodes any video FFmpeg reads into upright RGB frames, one at a time, optionally resampled to a
// fixed frame rate and reframed to an output size. Still images (PNG, JPEG, ...) read as a video
// of one frame, so callers can treat every source alike.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <optional>

#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/media/video_info.hpp"

namespace reelforge::media {

struct VideoReaderOptions {
  // Resample to this rate: output frame i (at i / fps seconds from the first frame) is the source
  // frame with the latest timestamp <= that time, so variable-rate sources come out right.
  // nullopt = every decoded frame as it comes. Ignored for stills (always one frame).
  std::optional<FrameRate> fps;
  std::optional<FrameSize> size;  // reframe to exactly this size; nullopt = as displayed
  Fit fit = Fit::Fill;
  std::optional<double> max_duration_s;  // stop at this time from the first frame
};

class VideoReader {
 public:
  // Opens and probes `path`; errors as probe().
  explicit VideoReader(const std::filesystem::path& path, VideoReaderOptions options = {});
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;
  // The next frame (CV_8UC3 RGB, upright, reframed if asked); false at the end.
  // Error(Format) when the file turns out damaged or truncated.
  bool read(cv::Mat& rgb);
  // Time of the frame last returned, seconds from the first frame (the output time when
  // resampling).
  double timestamp_s() const;
  int64_t frames_read() const;
  // How many frames read() should give (exact for resampled CFR sources), for progress totals.
  int64_t expected_frames() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelforge::media
