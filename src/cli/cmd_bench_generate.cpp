// `reelforge bench generate`: presentation of pipeline::run_generate_benchmark.

#include <cstdio>

#include "bench_generate.hpp"
#include "option_parsing.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/pipeline/generate_benchmark.hpp"

namespace reelforge::cli {

const char* const kBenchGenerateUsage = R"(Usage: reelforge bench generate [options]

One clip rendered end to end, timed per stage: model load, text encoding, sampling, VAE decode,
frame interpolation, upscaling, encoding. Without --model it writes a tiny random-weights model
for the run, which measures everything around the DiT.
  --model NAME     an installed model or model folder (default: a tiny random model)
  --duration S     clip length in seconds (default 5)
  --aspect A       16:9, 9:16 or 1:1 (default 16:9)
  --resolution R   480p, 720p or 1080p (default 1080p)
  --fps N          output frame rate (default 24)
  --steps N        sampling steps (default: the model's)
  --preset P       x264 preset (default medium))";

int run_bench_generate(Args& args) {
  pipeline::GenerateBenchmarkOptions options;
  options.model = args.option_or("--model", "");
  if (auto d = args.number("--duration", 0.05, 20)) options.duration_s = *d;
  if (auto v = args.option("--aspect")) {
    options.aspect = named("--aspect", [&] { return media::parse_aspect(*v); });
  }
  if (auto v = args.option("--resolution")) {
    options.resolution = named("--resolution", [&] { return media::parse_resolution(*v); });
  }
  if (auto v = args.option("--fps")) options.fps = parse_fps_option("--fps", *v).value();
  if (auto n = args.integer("--steps", 1, 1000)) options.steps = static_cast<int>(*n);
  if (auto p = args.option("--preset")) {
    options.encoder_preset = parse_encoder_preset_option("--preset", *p);
  }
  args.finish();

  const pipeline::GenerateBenchmarkResult r = pipeline::run_generate_benchmark(options);
  const pipeline::RenderPlan& plan = r.plan;
  std::printf("generate: %s\n", r.model.c_str());
  std::printf("  clip: %.2f s, %lld frames of %dx%d at %s fps (native %dx%d at %g fps, %lld "
              "windows, %d steps)\n",
              r.render.duration_s, (long long)r.render.frames, plan.output_size.width_px,
              plan.output_size.height_px, plan.output_fps.to_string().c_str(),
              plan.native_size.width_px, plan.native_size.height_px, plan.native_fps,
              (long long)plan.window_count(), plan.sampling.steps);
  double staged = 0;
  for (const auto& [stage, s] : r.render.stage_seconds) staged += s;
  for (const char* stage : {"load", "text", "condition", "sample", "decode", "interpolate",
                            "upscale", "watermark", "encode"}) {
    const double s = r.render.stage_seconds.at(stage);
    std::printf("  %-12s %8.2f s  %5.1f%%\n", stage, s, staged > 0 ? 100 * s / staged : 0.0);
  }
  std::printf("  %-12s %8.2f s  (wall, model writing and job set-up included: %.2f s)\n",
              "stages", staged, r.total_s);
  return 0;
}

}  // namespace reelforge::cli
