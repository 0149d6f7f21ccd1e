#pragma once
// Turns any video or still image into a clip at one of the output presets: the source is decoded
// upright, resampled to the output frame rate, reframed (Fill or Letterbox) and encoded to H.264.
// It is how user footage and reference images enter a storyboard, and what `reelforge convert`
// runs.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/metadata.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/media/video_writer.hpp"

namespace reelforge::media {

constexpr double kDefaultStillDurationS = 5.0;
constexpr double kDefaultStillFps = 24.0;

struct ConvertOptions {
  Aspect aspect = Aspect::Wide;
  Resolution resolution = Resolution::P1080;
  // Fill by default: generated clips are full-frame and a centre crop looks like footage, whereas
  // bars would show up as black in the model's conditioning frames.
  Fit fit = Fit::Fill;
  std::optional<FrameRate> fps;          // default: the source's, clamped to 8..60; 24 for stills
  std::optional<double> duration_s;      // still: clip length (default 5 s); video: trim to this
  std::optional<double> max_duration_s;  // never longer than this
  int crf = kDefaultCrf;
  std::string preset = kDefaultEncoderPreset;
  // Written into the output; when reelforge_json is empty it records the conversion settings.
  VideoMetadata metadata;
};

struct ConvertResult {
  FrameSize size;
  FrameRate fps;
  int64_t frame_count = 0;
  double duration_s = 0;
  std::string encoder;
  bool from_still_image = false;
};

// Error(InvalidArgument) for bad options (named), plus the errors of VideoReader and VideoWriter.
// On any error or cancellation nothing is left under `output`.
ConvertResult convert_clip(const std::filesystem::path& input, const std::filesystem::path& output,
                           const ConvertOptions& options, const ProgressCallback& progress = {},
                           const CancellationToken& cancel = {});

// The output frame rate convert_clip uses for a source of `source_fps` (0 for stills).
FrameRate default_output_fps(double source_fps);

}  // namespace reelforge::media
