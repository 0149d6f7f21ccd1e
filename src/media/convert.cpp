#include "reelforge/media/convert.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/version.hpp"

namespace fs = std::filesystem;

namespace reelforge::media {

FrameRate default_output_fps(double source_fps) {
  if (!(source_fps > 0) || !std::isfinite(source_fps))
    return FrameRate::from_double(kDefaultStillFps);
  return FrameRate::from_double(std::clamp(source_fps, kMinFps, kMaxFps));
}

namespace {

void validate(const ConvertOptions& o) {
  auto bad = [](const std::string& m) { return Error(ErrorCategory::InvalidArgument, m); };
  if (o.fps && (o.fps->value() < kMinFps - 1e-9 || o.fps->value() > kMaxFps + 1e-9)) {
    throw bad("frame rate " + o.fps->to_string() + " is out of range; valid: 8 to 60");
  }
  if (o.duration_s && !(*o.duration_s > 0)) throw bad("duration must be more than 0 seconds");
  if (o.max_duration_s && !(*o.max_duration_s > 0)) {
    throw bad("maximum duration must be more than 0 seconds");
  }
}

std::string describe_settings(const fs::path& input, const ConvertOptions& o, FrameRate fps,
                              FrameSize size) {
  nlohmann::json j;
  j["version"] = kVersion;
  j["operation"] = "convert";
  j["source"] = input.filename().string();
  j["aspect"] = to_string(o.aspect);
  j["resolution"] = to_string(o.resolution);
  j["width_px"] = size.width_px;
  j["height_px"] = size.height_px;
  j["fit"] = o.fit == Fit::Fill ? "fill" : "letterbox";
  j["fps"] = fps.to_string();
  j["crf"] = o.crf;
  j["preset"] = o.preset;
  return j.dump();
}

}  // namespace

ConvertResult convert_clip(const fs::path& input, const fs::path& output,
                           const ConvertOptions& options, const ProgressCallback& progress,
                           const CancellationToken& cancel) {
  validate(options);
  const FrameSize size = preset_size(options.aspect, options.resolution);
  const VideoInfo source = probe(input);
  const FrameRate fps = options.fps ? *options.fps : default_output_fps(source.fps);

  VideoReaderOptions read_options;
  read_options.size = size;
  read_options.fit = options.fit;
  read_options.fps = fps;
  if (!source.is_still_image) {
    // For videos both trim; the shorter wins.
    std::optional<double> limit = options.duration_s;
    if (options.max_duration_s)
      limit = std::min(limit.value_or(*options.max_duration_s), *options.max_duration_s);
    read_options.max_duration_s = limit;
  }
  VideoReader reader(input, read_options);

  int64_t still_frames = 0;
  if (source.is_still_image) {
    double duration = options.duration_s.value_or(kDefaultStillDurationS);
    if (options.max_duration_s) duration = std::min(duration, *options.max_duration_s);
    still_frames = std::max<int64_t>(1, std::llround(duration * fps.value()));
  }

  VideoWriterOptions write_options;
  write_options.size = size;
  write_options.fps = fps;
  write_options.crf = options.crf;
  write_options.preset = options.preset;
  write_options.metadata = options.metadata;
  if (write_options.metadata.reelforge_json.empty()) {
    write_options.metadata.reelforge_json = describe_settings(input, options, fps, size);
  }
  if (!write_options.metadata.creation_time) {
    write_options.metadata.creation_time = std::chrono::system_clock::now();
  }
  write_options.expected_frames = source.is_still_image ? still_frames : reader.expected_frames();
  write_options.progress = progress;
  write_options.cancel = cancel;
  VideoWriter writer(output, write_options);

  cv::Mat frame;
  if (source.is_still_image) {
    if (!reader.read(frame))
      throw Error(ErrorCategory::Format, "the image has no frame", input.string());
    // The same picture every frame: x264 turns the repeats into almost nothing.
    for (int64_t i = 0; i < still_frames; ++i) writer.write(frame);
  } else {
    while (true) {
      cancel.throw_if_cancelled("converting " + input.string());
      if (!reader.read(frame)) break;
      writer.write(frame);
    }
  }
  writer.finish();

  ConvertResult result;
  result.size = size;
  result.fps = fps;
  result.frame_count = writer.frames_written();
  result.duration_s = double(result.frame_count) / fps.value();
  result.encoder = writer.encoder();
  result.from_still_image = source.is_still_image;
  spdlog::info("converted {} -> {} ({}x{}, {} frames at {} fps)", input.string(), output.string(),
               size.width_px, size.height_px, result.frame_count, fps.to_string());
  return result;
}

}  // namespace reelforge::media
