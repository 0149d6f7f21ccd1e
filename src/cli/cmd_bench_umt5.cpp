// `reelforge bench umt5`: times UMT5Encoder::forward on one prompt batch and reports the peak
// resident memory. With --random-weights the encoder is built in place at umT5-XXL width (or the
// sizes given) with fewer layers if asked, so the per-layer cost can be measured on machines
// that cannot hold the whole 5.7e9-parameter model, and extrapolated to 24 layers.

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "bench_support.hpp"
#include "bench_umt5.hpp"
#include "commands.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/umt5.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/device.hpp"

namespace reelforge::cli {

const char* const kBenchUMT5Usage =
    R"(Usage: reelforge bench umt5 (--random-weights | --weights FILE) [options]

Times the umT5 text encoder on random token ids (every position real, as for a prompt that fills
the whole text length) and prints seconds per forward, per layer, an extrapolation to the
full layer count, and the process's peak resident memory.

  --random-weights   build the encoder with random weights, drawn in place (no checkpoint)
  --weights FILE     load a umT5 checkpoint instead (Wan or Hugging Face/ComfyUI layout)
  --layers N         layers to build with --random-weights (default 24 = umT5-XXL)
  --dim N --dim-attn N --ffn N --heads N --vocab N
                     sizes for --random-weights (default umT5-XXL: 4096, 4096, 10240, 64, 256384)
  --tokens N         sequence length (default 512, Wan's text_len)
  --batch N          prompts per forward (default 1)
  --dtype D, --device D, --threads N
                     the global options (default auto: bf16 on CPUs with native bf16 and on CUDA;
                     CUDA when available; one thread per hardware thread)
  --runs N           timed forwards after one warm-up (default 2; best and mean reported))";

namespace {

// Peak and current resident set size in MiB, from /proc/self/status.
std::pair<double, double> rss_mib() {
  return {double(proc_status_bytes("VmHWM")) / (1 << 20),
          double(proc_status_bytes("VmRSS")) / (1 << 20)};
}

}  // namespace

int run_bench_umt5(Args& args) {
  const bool random = args.flag("--random-weights");
  const auto weights = args.option("--weights");
  if (random == weights.has_value()) {
    throw Error(ErrorCategory::InvalidArgument,
                "bench umt5 needs exactly one of --random-weights or --weights FILE");
  }
  models::UMT5Config config = models::UMT5Config::xxl();
  if (auto n = args.integer("--layers", 1, 1000)) config.num_layers = *n;
  if (auto n = args.integer("--dim", 1, 1 << 16)) config.dim = *n;
  if (auto n = args.integer("--dim-attn", 1, 1 << 16)) config.dim_attn = *n;
  if (auto n = args.integer("--ffn", 1, 1 << 18)) config.dim_ffn = *n;
  if (auto n = args.integer("--heads", 1, 1024)) config.num_heads = *n;
  if (auto n = args.integer("--vocab", 1, 1 << 22)) config.vocab = *n;
  const int64_t tokens = args.integer("--tokens", 1, 1 << 16).value_or(512);
  const int64_t batch = args.integer("--batch", 1, 1024).value_or(1);
  const int runs = static_cast<int>(args.integer("--runs", 1, 1000).value_or(2));
  args.finish();
  // --dtype, --device and --threads are global options, already applied by main().
  const ComputeInfo& info = compute_info();

  models::UMT5LoadOptions options;
  options.device = tensors::torch_device(info.device);
  options.dtype = tensors::torch_dtype(info.dtype);

  auto t0 = std::chrono::steady_clock::now();
  const models::UMT5Encoder encoder =
      random ? models::UMT5Encoder::random(config, options, /*seed=*/0)
             : models::UMT5Encoder::load(tensors::Checkpoint::open(*weights), options);
  const double build_s = seconds_since(t0);
  const auto& c = encoder.config();
  const auto [build_peak, build_now] = rss_mib();
  std::printf(
      "umT5 %s: vocab %lld, dim %lld, dim_attn %lld, ffn %lld, %lld heads, %lld layers "
      "(%.2fe9 params), %s on %s, %d thread(s)\n",
      random ? "random weights" : weights->c_str(), (long long)c.vocab, (long long)c.dim,
      (long long)c.dim_attn, (long long)c.dim_ffn, (long long)c.num_heads, (long long)c.num_layers,
      double(encoder.parameter_count()) / 1e9, to_string(info.dtype), to_string(info.device),
      at::get_num_threads());
  std::printf("  build: %.2f s, RSS %.0f MiB (peak %.0f MiB)\n", build_s, build_now, build_peak);

  const at::Tensor ids = at::randint(0, c.vocab, {batch, tokens}, at::kLong);  // [B, L]
  const at::Tensor mask = at::ones({batch, tokens}, at::kLong);                // [B, L]
  t0 = std::chrono::steady_clock::now();
  (void)encoder.forward(ids, mask, interrupt_token());
  const double warm_s = seconds_since(t0);
  double best = 1e30, total = 0;
  for (int r = 0; r < runs; ++r) {
    t0 = std::chrono::steady_clock::now();
    (void)encoder.forward(ids, mask, interrupt_token());
    const double s = seconds_since(t0);
    best = std::min(best, s);
    total += s;
  }
  const auto [peak, now] = rss_mib();
  const double per_layer = best / double(c.num_layers);
  const auto xxl = models::UMT5Config::xxl();
  const double bytes = options.dtype == at::kBFloat16 ? 2.0 : 4.0;
  std::printf(
      "  forward %lld x %lld tokens: first %.3f s, best %.3f s, mean %.3f s over %d run(s)\n",
      (long long)batch, (long long)tokens, warm_s, best, total / runs, runs);
  std::printf("  per layer: %.3f s; extrapolated to %lld layers: %.2f s\n", per_layer,
              (long long)xxl.num_layers, per_layer * double(xxl.num_layers));
  std::printf("  peak RSS %.0f MiB (now %.0f MiB); umT5-XXL weights alone need %.1f GiB in %s\n",
              peak, now, double(xxl.parameter_count()) * bytes / double(1 << 30),
              to_string(info.dtype));
  return 0;
}

}  // namespace reelforge::cli
