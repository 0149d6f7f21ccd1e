// `reelforge bench dit`: thin front end over models::WanDiT; all model logic lives in the core.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "bench_dit.hpp"
#include "bench_support.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace reelforge::cli {

const char* const kBenchDiTUsage =
    R"(Usage: reelforge bench dit --variant V (--random-weights | --weights PATH) [options]

Times one conditional forward of the Wan diffusion transformer at its real size.
  --variant V         wan2.1-1.3b | wan2.2-5b | wan2.1-14b (sizes, VAE stride, model type)
  --random-weights    random weights created in place (no download needed)
  --weights PATH      a DiT checkpoint instead (safetensors, shards or folder)
  --size WxH          video size in pixels (default 160x96)
  --frames N          video frames, 1 + 4k (default 17)
  --context N         text tokens, <= 512 (default 512)
  --runs N            forwards to time (default 3; the first is reported separately)
  --compare-float32   also run the same weights in float32 and print the relative error of the
                      bf16 output (needs memory for both copies)
  --dtype T           float32 | bf16 (the global option; default auto = bf16 on CPUs with native
                      bf16 and on CUDA)
)";

namespace {

using Clock = BenchClock;

}  // namespace

int run_bench_dit(Args& args) {
  const std::string variant = args.option_or("--variant", "");
  if (variant.empty()) {
    throw Error(ErrorCategory::InvalidArgument,
                "--variant is required: wan2.1-1.3b, wan2.2-5b or wan2.1-14b");
  }
  const bool random_weights = args.flag("--random-weights");
  const bool compare = args.flag("--compare-float32");
  const auto weights_path = args.option("--weights");
  const auto [width_px, height_px] = parse_size_option(args.option_or("--size", "160x96"));
  const int64_t frames = args.integer("--frames", 1, 1025).value_or(17);
  const int64_t context_len = args.integer("--context", 1, 512).value_or(512);
  const int64_t runs = args.integer("--runs", 1, 100).value_or(3);
  args.finish();
  if (random_weights == weights_path.has_value()) {
    throw Error(ErrorCategory::InvalidArgument,
                "give exactly one of --random-weights and --weights PATH");
  }

  models::WanDiTConfig config = models::WanDiTConfig::preset(variant);
  const int64_t vae_stride = config.model_type == models::WanModelType::TI2V ? 16 : 8;
  models::validate_pixel_size(width_px, height_px, vae_stride, config.patch_size[1]);
  const int64_t latent_frames = models::validate_frame_count(frames);

  // --dtype, --device and --threads are global options, already applied by main().
  const ComputeDType dtype = compute_info().dtype;
  models::WanDiTLoadOptions options;
  options.dtype = dtype;
  options.hints.model_type = config.model_type;

  c10::InferenceMode guard;
  const int64_t rss_before = proc_status_bytes("VmRSS");
  auto start = Clock::now();
  std::optional<tensors::Checkpoint> checkpoint;
  const models::WanDiT model = [&] {
    if (random_weights) return models::WanDiT::random(config, options, 1);
    checkpoint = tensors::Checkpoint::open(*weights_path);
    return models::WanDiT::load(*checkpoint, options);
  }();
  const double create_s = seconds_since(start);
  config = model.config();
  const at::Device device = model.device();

  // Latent [C, F, H, W] and its tokens.
  const int64_t lh = height_px / vae_stride, lw = width_px / vae_stride;
  const int64_t tokens = latent_frames / config.patch_size[0] * (lh / config.patch_size[1]) *
                         (lw / config.patch_size[2]);
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor x = at::randn({config.in_dim, latent_frames, lh, lw}, f32);
  const at::Tensor context = at::randn({context_len, config.text_dim}, f32);
  at::Tensor t;
  if (config.model_type == models::WanModelType::TI2V) {
    // As TI2V calls it: per-token timesteps, the first latent frame (the image) at t = 0.
    t = at::full({1, tokens}, 999.0f, f32);
    t.narrow(1, 0, tokens / latent_frames).zero_();
  } else {
    t = at::full({1}, 999.0f, f32);
  }

  std::printf("Wan DiT %s (%s): dim %lld, ffn %lld, %lld heads, %lld layers; %s on %s\n",
              variant.c_str(), models::to_string(config.model_type), (long long)config.dim,
              (long long)config.ffn_dim, (long long)config.num_heads, (long long)config.num_layers,
              to_string(dtype), device.str().c_str());
  std::printf(
      "input: %lldx%lld px, %lld frames -> latent %lldx%lldx%lld -> %lld tokens; %lld text "
      "tokens\n",
      (long long)width_px, (long long)height_px, (long long)frames, (long long)latent_frames,
      (long long)lh, (long long)lw, (long long)tokens, (long long)context_len);
  const double weight_gb = double(model.weight_bytes()) / 1e9;
  std::printf("weights: %.3f B parameters, %.2f GB (%s in %.1f s)\n",
              double(model.parameter_count()) / 1e9, weight_gb,
              random_weights ? "random, created in place" : "loaded", create_s);

  std::vector<double> times;
  for (int64_t i = 0; i < runs; ++i) {
    start = Clock::now();
    const auto out = model.forward({x}, t, {context}, tokens);
    (void)out[0].abs().max().item<double>();  // synchronise, and touch the result
    times.push_back(seconds_since(start));
  }
  const double first = times.front();
  double steady = first;
  if (times.size() > 1) steady = *std::min_element(times.begin() + 1, times.end());
  // A sampling step: the text's cross-attention keys and values made once, reused per step.
  const models::WanDiTTextKV text_kv = model.prepare_text({context});
  const at::Tensor x_batch = x.unsqueeze(0);
  double step = 1e30;
  for (int64_t i = 0; i < std::max<int64_t>(1, runs - 1); ++i) {
    start = Clock::now();
    (void)model.forward_batch(x_batch, t, text_kv).abs().max().item<double>();
    step = std::min(step, seconds_since(start));
  }
  const double flops = models::wan_dit_forward_flops(config, tokens);
  const int64_t peak_rss = proc_status_bytes("VmHWM");
  // R32 and R16: this machine's matmul rates, measured in the same run.
  const double r32 = matmul_rate_gflops(at::kFloat, device);
  const double r16 = matmul_rate_gflops(at::kBFloat16, device);
  const at::ScalarType compute = model.compute_dtype();
  const double peak_compute = compute == at::kFloat ? r32 : r16;
  const double achieved = flops / steady / 1e9;
  const bool bf16 = compute != at::kFloat;
  std::printf("matmul rates (at::mm 3072^2): R32 float32 %.1f GFLOP/s, R16 bf16 %.1f GFLOP/s\n",
              r32, r16);
  std::printf("forward: first %.3f s, steady %.3f s (best of %lld); first / steady %.2f (goal <= "
              "1.2)\n",
              first, steady, (long long)std::max<int64_t>(1, runs - 1), first / steady);
  std::printf("  goal %s <= %.1f s; %.1f GFLOP, %.1f GFLOP/s = %.0f%% of R32, %.0f%% of R16\n",
              bf16 ? "bf16" : "float32", bf16 ? 3.0 : 6.0, flops / 1e9, achieved,
              100.0 * achieved / r32, 100.0 * achieved / r16);
  std::printf("sampling step (text keys/values prepared once): %.3f s; %.0f%% of the %s rate at "
              "the forward's FLOPs\n",
              step, 100.0 * flops / step / 1e9 / peak_compute, bf16 ? "R16" : "R32");
  if (compare && bf16) {
    // The bf16 weights widened to float32 are exactly the weights the bf16 model runs.
    models::WanDiTLoadOptions f32 = options;
    f32.dtype = ComputeDType::Float32;
    const models::WanDiT reference =
        models::WanDiT::load(float32_checkpoint(model.named_parameters()), f32);
    const at::Tensor a = reference.forward({x}, t, {context}, tokens)[0];
    const at::Tensor b = model.forward({x}, t, {context}, tokens)[0];
    std::printf("bf16 vs float32 (same weights): relative error %.4f (||b - a|| / ||a||)\n",
                (b - a).norm().item<double>() / a.norm().item<double>());
  }
  std::printf("peak resident memory (VmHWM): %.2f GB = weights + %.2f GB (goal <= weights + "
              "1.07 GB); %.2f GB before the weights\n",
              double(peak_rss) / 1e9, double(peak_rss - model.weight_bytes()) / 1e9,
              double(rss_before) / 1e9);
  return 0;
}

}  // namespace reelforge::cli
