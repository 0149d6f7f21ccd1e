#pragma once
// What safety costs a render and a viewer: embedding the watermark per output frame, and verifying
// a whole clip (decode + detect + manifest check). Behind `reelforge bench safety`.

#include <cstdint>
#include <filesystem>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/safety/verify.hpp"

namespace reelforge::safety {

struct SafetyBenchmarkOptions {
  media::FrameSize size{1920, 1080};
  int embed_frames = 48;  // frames timed for embedding (after one that builds the pattern)
  double clip_s = 20;     // length of the clip that is written and verified
  int fps = 24;
  std::string preset = "veryfast";  // x264 preset of the clip
  int crf = 20;
  std::filesystem::path work_dir;  // where the clip and a throw-away identity go; must exist
};

struct SafetyBenchmarkResult {
  double pattern_ms = 0;          // the first embed: builds the pattern for the size and payload
  double embed_ms_per_frame = 0;  // every later embed
  int64_t clip_frames = 0;
  double write_clip_s = 0;  // making the marked, signed test clip (not part of verifying)
  double verify_s = 0;      // verify_clip() end to end
  VerifyReport report;      // its verdict and stage times
};

SafetyBenchmarkResult run_safety_benchmark(const SafetyBenchmarkOptions& options,
                                           const ProgressCallback& progress = {},
                                           const CancellationToken& cancel = CancellationToken());

}  // namespace reelforge::safety
