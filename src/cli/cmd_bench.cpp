// `reelforge bench SUBCOMMAND`: performance measurements. Each subcommand is a row of kBenchmarks;
// the measuring itself lives in the core library (e.g. media/encode_benchmark), so the Studio and
// tests can run the same code.

#include <algorithm>
#include <cstdio>
#include <string>

#include "bench_dit.hpp"
#include "bench_umt5.hpp"
#include "bench_vae.hpp"
#include "commands.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/encode_benchmark.hpp"

namespace reelforge::cli {

namespace {

const char* const kBenchEncodeUsage = R"(Usage: reelforge bench encode [options]

1080p H.264 encoding throughput: ReelForge's VideoWriter against the ffmpeg program encoding the
same raw frames with the same settings, in the same run.
  --frames N     frames to encode (default 120)
  --preset P     x264 preset, ultrafast .. veryslow (default medium)
  --crf N        0 to 51 (default 20)
  --rounds N     run each side N times and keep the best (default 1))";

std::string bench_usage() {
  return std::string(R"(Usage: reelforge bench SUBCOMMAND [options]

Subcommands: encode, dit, umt5, vae. Figures are printed, never judged.

)") + kBenchEncodeUsage + "\n\n" + kBenchDiTUsage + "\n\n" + kBenchUMT5Usage +
         "\n\n" + kBenchVAEUsage;
}

}  // namespace

const char* const kBenchUsage = [] {
  static const std::string text = bench_usage();
  return text.c_str();
}();

namespace {

int run_bench_encode(Args& args) {
  media::EncodeBenchmarkOptions options;
  if (auto n = args.integer("--frames", 1, 100000)) options.frames = int(*n);
  if (auto n = args.integer("--crf", 0, 51)) options.crf = int(*n);
  if (auto n = args.integer("--rounds", 1, 100)) options.rounds = int(*n);
  if (auto p = args.option("--preset")) {
    const auto& presets = media::encoder_presets();
    if (std::find(presets.begin(), presets.end(), *p) == presets.end()) {
      throw Error(ErrorCategory::InvalidArgument, "--preset: unknown preset '" + *p + "'");
    }
    options.preset = *p;
  }
  args.finish();

  media::EncodeBenchmarkResult r;
  {
    ProgressPrinter printer;
    r = media::run_encode_benchmark(options, printer.callback(), interrupt_token());
  }
  std::printf("encode %dx%d, %d frames, %s preset %s crf %d\n", r.size.width_px, r.size.height_px,
              r.frames, r.encoder.c_str(), options.preset.c_str(), options.crf);
  std::printf("  reelforge: %7.2f fps  (%.2f s, %.1f MB)\n", r.ours.fps, r.ours.seconds,
              double(r.ours.bytes) / 1e6);
  std::printf("  ffmpeg:    %7.2f fps  (%.2f s, %.1f MB)\n", r.ffmpeg.fps, r.ffmpeg.seconds,
              double(r.ffmpeg.bytes) / 1e6);
  std::printf("  ratio ours/ffmpeg: %.3f\n", r.ratio);
  return 0;
}

struct Benchmark {
  const char* name;
  int (*run)(Args& args);
};

// Add `generate` ... here, and their usage to bench_usage().
const Benchmark kBenchmarks[] = {
    {"encode", run_bench_encode},
    {"dit", run_bench_dit},
    {"umt5", run_bench_umt5},
    {"vae", run_bench_vae},
};

}  // namespace

int run_bench(Args& args) {
  const std::string name = args.positional("bench subcommand (encode, dit, umt5, vae)");
  for (const Benchmark& b : kBenchmarks) {
    if (name == b.name) return b.run(args);
  }
  std::string valid;
  for (const Benchmark& b : kBenchmarks) valid += (valid.empty() ? "" : ", ") + std::string(b.name);
  throw Error(ErrorCategory::InvalidArgument,
              "unknown bench subcommand '" + name + "'; valid: " + valid);
}

}  // namespace reelforge::cli
