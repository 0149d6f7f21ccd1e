// `reelforge bench SUBCOMMAND`: performance measurements. Each subcommand is a row of kBenchmarks;
// the measuring itself lives in the core library (e.g. media/encode_benchmark), so the Studio and
// tests can run the same code.

#include <algorithm>
#include <cstdio>
#include <string>

#include "bench_dit.hpp"
#include "bench_train.hpp"
#include "bench_generate.hpp"
#include "bench_safety.hpp"
#include "bench_umt5.hpp"
#include "bench_vae.hpp"
#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/encode_benchmark.hpp"
#include "reelforge/media/post_benchmark.hpp"

namespace reelforge::cli {

namespace {

const char* const kBenchEncodeUsage = R"(Usage: reelforge bench encode [options]

1080p H.264 encoding throughput: ReelForge's VideoWriter against the ffmpeg program encoding the
same raw frames with the same settings, in the same run.
  --frames N     frames to encode (default 120)
  --preset P     x264 preset, ultrafast .. veryslow (default medium)
  --crf N        0 to 51 (default 20)
  --rounds N     run each side N times and keep the best (default 1))";

const char* const kBenchPostUsage = R"(Usage: reelforge bench post [options]

Post-processing per output frame: frame-rate conversion (motion-compensated by default) from the
model's native rate, and upscaling to the output preset with sharpening.
  --size WxH         native frame size (default 832x480)
  --frames N         native frames (default 17)
  --from FPS         native rate (default 16)
  --to FPS           output rate (default 24)
  --interpolation M  flow, blend or nearest (default flow)
  --resolution R     output preset of the frame's aspect: 480p, 720p, 1080p (default 1080p))";

std::string bench_usage() {
  return std::string(R"(Usage: reelforge bench SUBCOMMAND [options]

Subcommands: encode, generate, post, dit, umt5, vae, train, safety. Figures are printed, never judged.

)") + kBenchEncodeUsage + "\n\n" + kBenchGenerateUsage + "\n\n" + kBenchPostUsage + "\n\n" + kBenchDiTUsage + "\n\n" + kBenchUMT5Usage +
         "\n\n" + kBenchVAEUsage + "\n\n" + kBenchTrainUsage + "\n\n" + kBenchSafetyUsage;
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
    options.preset = parse_encoder_preset_option("--preset", *p);
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

int run_bench_post(Args& args) {
  media::PostBenchmarkOptions options;
  if (auto v = args.option("--size")) {
    int w = 0, h = 0;
    char x = 0;
    if (std::sscanf(v->c_str(), "%d%c%d", &w, &x, &h) != 3 || x != 'x' || w < 16 || h < 16) {
      throw Error(ErrorCategory::InvalidArgument, "--size: expected WxH such as 832x480");
    }
    options.native_size = {w, h};
  }
  if (auto n = args.integer("--frames", 2, 1000)) options.source_frames = int(*n);
  if (auto f = args.number("--from", 1, 120)) options.src_fps = *f;
  if (auto f = args.number("--to", 1, 120)) options.dst_fps = *f;
  if (auto m = args.option("--interpolation")) {
    options.method = media::parse_interpolation_method(*m);
  }
  const media::Resolution resolution =
      media::parse_resolution(args.option_or("--resolution", "1080p"));
  args.finish();
  const media::FrameSize n = options.native_size;
  const media::Aspect aspect = n.width_px > n.height_px   ? media::Aspect::Wide
                               : n.width_px < n.height_px ? media::Aspect::Vertical
                                                          : media::Aspect::Square;
  options.output_size = media::preset_size(aspect, resolution);
  const media::PostBenchmarkResult r = media::run_post_benchmark(options, {}, interrupt_token());
  std::printf("post %dx%d -> %dx%d, %d frames at %g fps -> %lld at %g fps (%s)\n", n.width_px,
              n.height_px, options.output_size.width_px, options.output_size.height_px,
              r.source_frames, options.src_fps, (long long)r.output_frames, options.dst_fps,
              media::to_string(options.method));
  std::printf("  retime:  %7.1f ms per output frame (%.2f s; %lld flow pairs, %lld blended)\n",
              1e3 * r.retime_s_per_frame, r.retime_s, (long long)r.interpolation.flow_pairs,
              (long long)r.interpolation.fallback_pairs);
  std::printf("  upscale: %7.1f ms per output frame (%.2f s)\n", 1e3 * r.upscale_s_per_frame,
              r.upscale_s);
  return 0;
}

struct Benchmark {
  const char* name;
  int (*run)(Args& args);
};

const Benchmark kBenchmarks[] = {
    {"encode", run_bench_encode},
    {"generate", run_bench_generate},
    {"post", run_bench_post},
    {"dit", run_bench_dit},
    {"umt5", run_bench_umt5},
    {"vae", run_bench_vae},
    {"train", run_bench_train},
    {"safety", run_bench_safety},
};

}  // namespace

int run_bench(Args& args) {
  const std::string name =
      args.positional("bench subcommand (encode, generate, post, dit, umt5, vae, train, safety)");
  for (const Benchmark& b : kBenchmarks) {
    if (name == b.name) return b.run(args);
  }
  std::string valid;
  for (const Benchmark& b : kBenchmarks) valid += (valid.empty() ? "" : ", ") + std::string(b.name);
  throw Error(ErrorCategory::InvalidArgument,
              "unknown bench subcommand '" + name + "'; valid: " + valid);
}

}  // namespace reelforge::cli
