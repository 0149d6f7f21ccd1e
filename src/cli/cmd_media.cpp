// `reelforge probe` and `reelforge convert`: argument parsing and presentation over the media
// module.

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/convert.hpp"
#include "reelforge/media/video_info.hpp"

namespace reelforge::cli {

const char* const kProbeUsage = R"(Usage: reelforge probe FILE [--json]

Describes a video or still image: size as displayed (and as stored when rotated), frame rate,
duration, frame count, codec, container, and ReelForge metadata when present.

  --json   print one JSON object instead of lines)";

const char* const kConvertUsage =
    R"(Usage: reelforge convert IN -o OUT --aspect A --resolution R [options]

Reframes a video or a still image into an H.264 MP4 at an output preset. A still becomes a clip of
--duration seconds; a video can be trimmed with --duration or --max-duration.

  -o, --output OUT       the MP4 to write (appears only when complete)
  --aspect A             16:9 (wide), 9:16 (vertical) or 1:1 (square)
  --resolution R         480p, 720p or 1080p (the short side)
  --fps N                8 to 60, e.g. 24, 23.976 or 24000/1001
                         (default: the source's rate clamped to 8..60; 24 for stills)
  --fill                 fill the frame, cropping the overflow evenly (default)
  --fit                  fit the whole picture, padding with black bars
  --duration S           still: clip length (default 5); video: keep the first S seconds
  --max-duration S       never longer than S seconds
  --crf N                quality, 0 (lossless) to 51 (default 20; lower is better and bigger)
  --preset P             x264 speed preset, ultrafast .. veryslow (default medium)

Ctrl-C stops the conversion and leaves no output file.)";

namespace {

std::string creation_time_text(const media::VideoMetadata& m) {
  return m.creation_time ? media::format_creation_time(*m.creation_time) : std::string();
}

nlohmann::json to_json(const std::string& path, const media::VideoInfo& info) {
  nlohmann::json j;
  j["path"] = path;
  j["is_still_image"] = info.is_still_image;
  j["width_px"] = info.width_px;
  j["height_px"] = info.height_px;
  j["coded_width_px"] = info.coded_width_px;
  j["coded_height_px"] = info.coded_height_px;
  j["rotation_deg"] = info.rotation_deg;
  j["fps"] = info.fps;
  j["variable_frame_rate"] = info.variable_frame_rate;
  j["duration_s"] = info.duration_s;
  j["frame_count"] = info.frame_count;
  j["frame_count_exact"] = info.frame_count_exact;
  j["codec"] = info.codec;
  j["pixel_format"] = info.pixel_format;
  j["container"] = info.container;
  nlohmann::json meta = nlohmann::json::object();
  if (!info.metadata.title.empty()) meta["title"] = info.metadata.title;
  if (!info.metadata.comment.empty()) meta["comment"] = info.metadata.comment;
  if (info.metadata.creation_time) meta["creation_time"] = creation_time_text(info.metadata);
  if (!info.metadata.reelforge_json.empty()) {
    // Embedded as JSON when it parses, so scripts need not decode a string inside the JSON.
    auto parsed = nlohmann::json::parse(info.metadata.reelforge_json, nullptr, false);
    meta[media::kReelForgeTag] =
        parsed.is_discarded() ? nlohmann::json(info.metadata.reelforge_json) : parsed;
  }
  j["metadata"] = meta;
  j["tags"] = info.tags;
  return j;
}

void print_lines(const std::string& path, const media::VideoInfo& info) {
  std::printf("file: %s\n", path.c_str());
  std::printf("type: %s\n", info.is_still_image ? "still image" : "video");
  std::printf("size: %dx%d", info.width_px, info.height_px);
  if (info.rotation_deg != 0) {
    std::printf(" (stored %dx%d, rotated %d degrees clockwise)", info.coded_width_px,
                info.coded_height_px, info.rotation_deg);
  }
  std::printf("\n");
  if (!info.is_still_image) {
    std::printf("fps: %.3f%s\n", info.fps, info.variable_frame_rate ? " (variable)" : "");
    std::printf("duration: %.3f s\n", info.duration_s);
    std::printf("frames: %lld%s\n", info.frame_count, info.frame_count_exact ? "" : " (estimated)");
  }
  std::printf("codec: %s (%s)\n", info.codec.c_str(), info.pixel_format.c_str());
  std::printf("container: %s\n", info.container.c_str());
  if (!info.metadata.title.empty()) std::printf("title: %s\n", info.metadata.title.c_str());
  if (!info.metadata.comment.empty()) std::printf("comment: %s\n", info.metadata.comment.c_str());
  if (info.metadata.creation_time) {
    std::printf("created: %s\n", creation_time_text(info.metadata).c_str());
  }
  if (!info.metadata.reelforge_json.empty()) {
    std::printf("reelforge: %s\n", info.metadata.reelforge_json.c_str());
  }
}

}  // namespace

int run_probe(Args& args) {
  const bool json = args.flag("--json");
  const std::string path = args.positional("FILE to probe");
  args.finish();
  const media::VideoInfo info = media::probe(path);
  if (json) {
    std::printf("%s\n", to_json(path, info).dump(2).c_str());
  } else {
    print_lines(path, info);
  }
  return 0;
}

int run_convert(Args& args) {
  media::ConvertOptions options;
  const auto output = args.option("--output", "-o");
  const auto aspect = args.option("--aspect");
  const auto resolution = args.option("--resolution");
  const auto fps = args.option("--fps");
  const bool fit = args.flag("--fit");
  const bool fill = args.flag("--fill");
  options.duration_s = args.number("--duration", 0.001, 3600);
  options.max_duration_s = args.number("--max-duration", 0.001, 3600);
  const auto crf = args.integer("--crf", 0, 51);
  const auto preset = args.option("--preset");
  const std::string input = args.positional("input file (video or image)");
  args.finish();

  if (!output) throw Error(ErrorCategory::InvalidArgument, "missing -o/--output OUT.mp4");
  if (!aspect) throw Error(ErrorCategory::InvalidArgument, "missing --aspect (16:9, 9:16 or 1:1)");
  if (!resolution) {
    throw Error(ErrorCategory::InvalidArgument, "missing --resolution (480p, 720p or 1080p)");
  }
  if (fit && fill)
    throw Error(ErrorCategory::InvalidArgument, "--fit and --fill exclude each other");
  options.aspect = named("--aspect", [&] { return media::parse_aspect(*aspect); });
  options.resolution = named("--resolution", [&] { return media::parse_resolution(*resolution); });
  options.fit = fit ? media::Fit::Letterbox : media::Fit::Fill;
  if (fps) options.fps = parse_fps_option("--fps", *fps);
  if (crf) options.crf = int(*crf);
  if (preset) options.preset = parse_encoder_preset_option("--preset", *preset);

  media::ConvertResult result;
  {
    ProgressPrinter printer;
    result = media::convert_clip(input, *output, options, printer.callback(), interrupt_token());
  }
  std::printf("wrote %s: %dx%d, %lld frames at %s fps (%.2f s), %s\n", output->c_str(),
              result.size.width_px, result.size.height_px, (long long)result.frame_count,
              result.fps.to_string().c_str(), result.duration_s, result.encoder.c_str());
  return 0;
}

}  // namespace reelforge::cli
