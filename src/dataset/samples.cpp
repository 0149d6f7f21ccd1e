#include "reelforge/dataset/samples.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_writer.hpp"

namespace reelforge::dataset {
namespace fs = std::filesystem;

media::FrameSize sample_size(media::Aspect aspect, int short_side_px) {
  const int s = short_side_px / 2 * 2;
  const int l = (s * 16 / 9 + 1) / 2 * 2;
  switch (aspect) {
    case media::Aspect::Wide:
      return {l, s};
    case media::Aspect::Vertical:
      return {s, l};
    case media::Aspect::Square:
      return {s, s};
  }
  return {s, s};
}

void write_samples(const fs::path& dir, const SampleOptions& options,
                   const ProgressCallback& progress, const CancellationToken& cancel) {
  if (options.count < 1 || options.count > 100000) {
    throw Error(ErrorCategory::InvalidArgument, "sample count " + std::to_string(options.count) +
                                                    " is out of range; valid: 1 to "
                                                    "100000");
  }
  if (options.short_side_px < 16 || options.short_side_px > 1080) {
    throw Error(ErrorCategory::InvalidArgument, "short side " +
                                                    std::to_string(options.short_side_px) +
                                                    " px is out of range; valid: 16 to 1080");
  }
  if (options.frames < 2 || options.frames > 1000) {
    throw Error(ErrorCategory::InvalidArgument,
                "frames " + std::to_string(options.frames) + " is out of range; valid: 2 to 1000");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCategory::Io, "cannot create the folder: " + ec.message(), dir.string());

  std::mt19937_64 rng(options.seed);
  const media::Aspect cycle[] = {media::Aspect::Wide, media::Aspect::Vertical,
                                 media::Aspect::Square};
  std::string lines;
  for (int i = 0; i < options.count; ++i) {
    cancel.throw_if_cancelled("writing samples");
    const ClipSpec spec =
        options.spec ? *options.spec : sample_clip(rng, options.split, options.mix);
    const std::string text = caption(spec, rng);
    const media::Aspect aspect = options.aspect.value_or(cycle[i % 3]);
    const media::FrameSize size = sample_size(aspect, options.short_side_px);
    char name[32];
    std::snprintf(name, sizeof name, "clip-%04d.mp4", i);
    media::VideoWriterOptions writer_options;
    writer_options.size = size;
    writer_options.fps = media::FrameRate::from_double(options.fps);
    writer_options.crf = 16;
    writer_options.preset = "veryfast";
    writer_options.metadata.title = text;
    writer_options.cancel = cancel;
    media::VideoWriter writer(dir / name, writer_options);
    for (const cv::Mat& frame : render_clip(spec, size, options.frames)) writer.write(frame);
    writer.finish();

    nlohmann::json objects = nlohmann::json::array();
    for (const ObjectSpec& o : spec.objects) {
      objects.push_back({{"shape", to_string(o.shape)},
                         {"color", to_string(o.color)},
                         {"size", to_string(o.size)},
                         {"motion", to_string(o.motion)},
                         {"held_out", is_held_out(o)}});
    }
    const nlohmann::json line = {{"file", name},
                                 {"caption", text},
                                 {"canonical", canonical_caption(spec)},
                                 {"split", to_string(options.split)},
                                 {"aspect", media::aspect_name(aspect)},
                                 {"background", to_string(spec.background)},
                                 {"objects", objects}};
    lines += line.dump() + "\n";
    if (progress) progress({"samples", i + 1, options.count, name});
  }
  write_file_atomic(dir / "captions.jsonl", lines);
}

void write_still(const std::filesystem::path& file, const ClipSpec& spec, media::FrameSize size) {
  const std::vector<cv::Mat> frames = render_clip(spec, size, 2);
  cv::Mat bgr;
  cv::cvtColor(frames[0], bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> bytes;
  std::string ext = file.extension().string();
  if (ext.empty() || !cv::imencode(ext, bgr, bytes)) {
    throw Error(ErrorCategory::InvalidArgument,
                "cannot write an image with the extension '" + ext + "'; use .png or .jpg",
                file.string());
  }
  write_file_atomic(file, std::string(bytes.begin(), bytes.end()));
}

}  // namespace reelforge::dataset
