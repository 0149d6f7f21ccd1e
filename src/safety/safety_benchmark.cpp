#include "reelforge/safety/safety_benchmark.hpp"

#include <chrono>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/safety/provenance.hpp"
#include "reelforge/safety/watermark.hpp"

namespace reelforge::safety {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// A textured picture with a disc that moves, so the encoder and the detector see changing video.
cv::Mat synthetic_frame(const media::FrameSize& size, int index) {
  cv::Mat rgb(size.height_px, size.width_px, CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y) {
    cv::Vec3b* row = rgb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < rgb.cols; ++x) {
      row[x] = cv::Vec3b(static_cast<uint8_t>(60 + 120 * x / rgb.cols),
                         static_cast<uint8_t>(50 + 140 * y / rgb.rows),
                         static_cast<uint8_t>(((x / 24 + y / 24) % 2) * 40 + 100));
    }
  }
  const int r = size.height_px / 6;
  const int cx = r + (index * 7) % std::max(1, size.width_px - 2 * r);
  cv::circle(rgb, {cx, size.height_px / 2}, r, cv::Scalar(230, 60, 40), cv::FILLED, cv::LINE_AA);
  return rgb;
}

}  // namespace

SafetyBenchmarkResult run_safety_benchmark(const SafetyBenchmarkOptions& options,
                                           const ProgressCallback& progress,
                                           const CancellationToken& cancel) {
  if (options.embed_frames < 1 || options.clip_s <= 0 || options.fps < 1) {
    throw Error(ErrorCategory::InvalidArgument, "the safety benchmark needs frames and a length");
  }
  if (options.work_dir.empty() || !fs::is_directory(options.work_dir)) {
    throw Error(ErrorCategory::NotFound, "the benchmark's work folder does not exist",
                options.work_dir.string());
  }
  SafetyBenchmarkResult result;
  const InstallIdentity identity = InstallIdentity::load_or_create(options.work_dir / "identity");
  const WatermarkPayload payload{identity.install_id(), new_generation_id()};

  // Embedding: the same source frame copied in each time, as a render hands a fresh frame.
  const cv::Mat source = synthetic_frame(options.size, 0);
  WatermarkEmbedder embedder(kWatermarkKey);
  cv::Mat frame = source.clone();
  Clock::time_point start = Clock::now();
  embedder.embed(frame, payload);
  result.pattern_ms = 1e3 * seconds_since(start);
  double embed_s = 0;
  for (int i = 0; i < options.embed_frames; ++i) {
    cancel.throw_if_cancelled("benchmark");
    source.copyTo(frame);
    start = Clock::now();
    embedder.embed(frame, payload);
    embed_s += seconds_since(start);
  }
  result.embed_ms_per_frame = 1e3 * embed_s / options.embed_frames;

  // A marked, signed clip of the asked length, as a render would leave it.
  const fs::path clip = options.work_dir / "safety-bench.mp4";
  const int64_t frames = static_cast<int64_t>(std::llround(options.clip_s * options.fps));
  media::VideoWriterOptions w;
  w.size = options.size;
  w.fps = {options.fps, 1};
  w.preset = options.preset;
  w.crf = options.crf;
  w.cancel = cancel;
  start = Clock::now();
  {
    media::VideoWriter writer(clip, w);
    for (int64_t i = 0; i < frames; ++i) {
      cv::Mat f = synthetic_frame(options.size, static_cast<int>(i));
      embedder.embed(f, payload);
      writer.write(f);
      if (progress) progress({"write", i + 1, frames, "writing the test clip"});
    }
    writer.finish();
  }
  ProvenanceManifest m;
  m.content_sha256 = sha256_file_hex(clip);
  m.created = utc_now_iso8601();
  m.generator = "ReelForge bench";
  m.generator_version = "-";
  m.model_name = "none";
  m.generation_id = payload.generation_id;
  m.sign(identity);
  m.write(provenance_path(clip));
  result.write_clip_s = seconds_since(start);
  result.clip_frames = frames;

  VerifyOptions v;
  v.cancel = cancel;
  if (progress) {
    v.progress = [&](int64_t done, int64_t total) {
      progress({"verify", done, total, "verifying the test clip"});
    };
  }
  start = Clock::now();
  result.report = verify_clip(clip, v);
  result.verify_s = seconds_since(start);
  return result;
}

}  // namespace reelforge::safety
