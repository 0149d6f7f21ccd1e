// `reelforge bench safety`: presentation of safety::run_safety_benchmark.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "bench_safety.hpp"
#include "commands.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/safety/safety_benchmark.hpp"

namespace reelforge::cli {
namespace fs = std::filesystem;

const char* const kBenchSafetyUsage = R"(Usage: reelforge bench safety [options]

The invisible watermark's cost per output frame, and verifying a whole clip as `reelforge verify`
does (decode every frame, detect the mark, check the signed manifest) on a marked, signed clip
of synthetic moving video written for the purpose.
  --size WxH     frame size (default 1920x1080)
  --frames N     frames timed for embedding (default 48)
  --seconds S    length of the clip to verify, at 24 fps (default 20)
  --keep DIR     write the clip into DIR and keep it (default: a temporary folder, removed))";

int run_bench_safety(Args& args) {
  safety::SafetyBenchmarkOptions options;
  if (auto v = args.option("--size")) {
    int w = 0, h = 0;
    char x = 0;
    if (std::sscanf(v->c_str(), "%d%c%d", &w, &x, &h) != 3 || x != 'x' || w < 64 || h < 36 ||
        w % 2 != 0 || h % 2 != 0) {
      throw Error(ErrorCategory::InvalidArgument,
                  "--size: expected even WxH of at least 64x36, such as 1920x1080");
    }
    options.size = {w, h};
  }
  if (auto n = args.integer("--frames", 1, 100000)) options.embed_frames = int(*n);
  if (auto s = args.number("--seconds", 0.1, 600)) options.clip_s = *s;
  const auto keep = args.option("--keep");
  args.finish();

  fs::path dir;
  if (keep) {
    dir = *keep;
    fs::create_directories(dir);
  } else {
    dir = fs::temp_directory_path() / ("reelforge-bench-safety-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  options.work_dir = dir;
  safety::SafetyBenchmarkResult r;
  try {
    ProgressPrinter printer;
    r = safety::run_safety_benchmark(options, printer.callback(), interrupt_token());
  } catch (...) {
    std::error_code ec;
    if (!keep) fs::remove_all(dir, ec);
    throw;
  }
  if (!keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::printf("safety %dx%d\n", options.size.width_px, options.size.height_px);
  std::printf(
      "  embed:  %7.2f ms per frame (%d frames; first frame %.1f ms, building the pattern)\n",
      r.embed_ms_per_frame, options.embed_frames, r.pattern_ms);
  std::printf("  verify: %7.2f s for a %.1f s clip (%lld frames): decode %.2f s, detect %.2f s\n",
              r.verify_s, options.clip_s, (long long)r.clip_frames, r.report.decode_seconds,
              r.report.detect_seconds);
  std::printf("  verdict: %s (watermark confidence %.1f)\n", safety::to_string(r.report.verdict),
              r.report.watermark.confidence);
  std::printf("  (writing the test clip took %.1f s, not counted)\n", r.write_clip_s);
  return 0;
}

}  // namespace reelforge::cli
