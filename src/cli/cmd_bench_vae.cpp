// `reelforge bench vae`: thin front end over models::WanVAE; all model logic lives in the core.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "bench_support.hpp"
#include "bench_vae.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace reelforge::cli {

const char* const kBenchVAEUsage =
    R"(Usage: reelforge bench vae --variant 2.1|2.2 (--random-weights | --weights PATH) [options]

Times a streaming decode and a whole-clip encode of a Wan VAE at its real size and reports the
peak resident memory (VmHWM) of each phase.
  --variant V         2.1 (dim 96, z 16) | 2.2 (dim 160, dec_dim 256, z 48)
  --random-weights    random weights created in place (no download needed)
  --weights PATH      a VAE checkpoint instead (.pth or safetensors; official, ComfyUI, diffusers)
  --size WxH          video size in pixels (default 160x96)
  --frames N          video frames, 1 + 4k (default 17)
  --phase P           decode | encode | both (default both; run phases in separate processes for
                      clean per-phase peaks where /proc/self/clear_refs is not available)
  --compare-float32   also decode with the same weights in float32 and print the relative error
                      of the bf16 frames
  --tile N            spatial tiles of N latent pixels (default: no tiling)
  --dtype T           float32 | bf16 (the global option; default auto = bf16 on CPUs with native
                      bf16 and on CUDA)
)";

namespace {

using Clock = BenchClock;

double gb(int64_t bytes) {
  return double(bytes) / 1e9;
}

// One line per phase: time, time per frame, and the phase's peak RSS over what it started from.
void report_phase(const char* phase, double seconds, int64_t frames, int64_t rss_before) {
  const int64_t peak = proc_status_bytes("VmHWM");
  std::printf(
      "%s: %.2f s for %lld frames (%.3f s/frame); peak RSS %.2f GB (+%.2f GB over the %.2f GB "
      "before)\n",
      phase, seconds, (long long)frames, seconds / double(frames), gb(peak), gb(peak - rss_before),
      gb(rss_before));
}

}  // namespace

int run_bench_vae(Args& args) {
  const std::string variant = args.option_or("--variant", "");
  if (variant.empty())
    throw Error(ErrorCategory::InvalidArgument, "--variant is required: 2.1 or 2.2");
  const models::WanVAEVersion version = models::parse_wan_vae_version(variant);
  const bool random_weights = args.flag("--random-weights");
  const auto weights_path = args.option("--weights");
  const auto [width_px, height_px] = parse_size_option(args.option_or("--size", "160x96"));
  const int64_t frames = args.integer("--frames", 1, 100001).value_or(17);
  const std::string phase = args.option_or("--phase", "both");
  const int64_t tile = args.integer("--tile", 0, 4096).value_or(0);
  const bool compare = args.flag("--compare-float32");
  args.finish();
  if (random_weights == weights_path.has_value()) {
    throw Error(ErrorCategory::InvalidArgument,
                "give exactly one of --random-weights and --weights PATH");
  }
  if (phase != "both" && phase != "decode" && phase != "encode") {
    throw Error(ErrorCategory::InvalidArgument,
                "--phase: expected decode, encode or both; got '" + phase + "'");
  }
  const int64_t latent_frames = models::validate_frame_count(frames);

  // --dtype, --device and --threads are global options, already applied by main().
  const ComputeDType dtype = compute_info().dtype;
  models::WanVAELoadOptions options;
  options.dtype = dtype;

  c10::InferenceMode guard;
  const int64_t rss_start = proc_status_bytes("VmRSS");
  auto start = Clock::now();
  std::optional<tensors::Checkpoint> checkpoint;
  const models::WanVAE vae = [&] {
    if (random_weights) {
      return models::WanVAE::random(models::WanVAEConfig::preset(version), options, 1);
    }
    checkpoint = tensors::Checkpoint::open(*weights_path);
    return models::WanVAE::load(*checkpoint, options);
  }();
  const double create_s = seconds_since(start);
  const models::WanVAEConfig& c = vae.config();
  const int64_t s = c.spatial_stride();
  if (width_px % s != 0 || height_px % s != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "--size " + std::to_string(width_px) + "x" + std::to_string(height_px) +
                    ": both sides must be multiples of the VAE stride " + std::to_string(s) +
                    "; width " + models::nearest_valid(width_px, s) + ", height " +
                    models::nearest_valid(height_px, s));
  }
  const int64_t lh = height_px / s, lw = width_px / s;
  std::printf("Wan VAE %s: dim %lld, dec_dim %lld, z %lld, stride 4x%lldx%lld; %s on %s\n",
              to_string(c.version), (long long)c.dim, (long long)c.dec_dim, (long long)c.z_dim,
              (long long)s, (long long)s, to_string(dtype), vae.device().str().c_str());
  std::printf("input: %lldx%lld px, %lld frames <-> latent %lldx%lldx%lld\n", (long long)width_px,
              (long long)height_px, (long long)frames, (long long)latent_frames, (long long)lh,
              (long long)lw);
  std::printf("weights: %.1f M parameters, %.3f GB (%s in %.1f s); RSS %.2f GB at start\n",
              double(vae.parameter_count()) / 1e6, gb(vae.weight_bytes()),
              random_weights ? "random, created in place" : "loaded", create_s, gb(rss_start));

  models::WanVAEDecodeOptions run;
  run.tiling.tile_latent = tile;
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(vae.device());
  const bool can_reset = reset_peak_rss();
  if (!can_reset) {
    std::printf(
        "note: /proc/self/clear_refs cannot reset VmHWM here; use --phase decode / encode in "
        "separate processes for per-phase peaks\n");
  }
  if (phase != "encode") {
    const at::Tensor z = at::randn({1, c.z_dim, latent_frames, lh, lw}, f32);
    reset_peak_rss();
    const int64_t rss_before = proc_status_bytes("VmRSS");
    double checksum = 0;
    int64_t produced = 0;
    const int64_t flops_before = models::wan_vae_conv_flops();
    start = Clock::now();
    vae.decode_streaming(
        z,
        [&](const at::Tensor& chunk, int64_t) {
          checksum += chunk.sum().item<double>();  // touch and drop each chunk
          produced += chunk.size(2);
        },
        run);
    const double decode_s = seconds_since(start);
    report_phase("decode (streaming)", decode_s, produced, rss_before);
    (void)checksum;
    const double flops = double(models::wan_vae_conv_flops() - flops_before);
    const at::ScalarType dtype = vae.compute_dtype();
    const double r_mm = matmul_rate_gflops(dtype, vae.device());
    const double r_conv = conv3d_rate_gflops(dtype, vae.device());
    std::printf("  %.0f GFLOP of convolutions, %.1f GFLOP/s = %.0f%% of the %s matmul rate "
                "(%.1f GFLOP/s) and %.0f%% of its conv3d rate (%.1f GFLOP/s, 192 ch 6x48x80); "
                "at the conv3d rate the decode would take %.2f s\n",
                flops / 1e9, flops / decode_s / 1e9, 100 * flops / decode_s / 1e9 / r_mm,
                c10::toString(dtype), r_mm, 100 * flops / decode_s / 1e9 / r_conv, r_conv,
                flops / 1e9 / r_conv);
  }
  if (compare && vae.compute_dtype() != at::kFloat) {
    models::WanVAELoadOptions reference_options = options;
    reference_options.dtype = ComputeDType::Float32;
    const models::WanVAE reference =
        models::WanVAE::load(float32_checkpoint(vae.named_parameters()), reference_options);
    const at::Tensor z = at::randn({1, c.z_dim, latent_frames, lh, lw}, f32);
    const at::Tensor a = reference.decode(z), b = vae.decode(z);
    std::printf("bf16 vs float32 decode (same weights): relative error %.4f\n",
                (b - a).norm().item<double>() / a.norm().item<double>());
  }
  if (phase != "decode") {
    const at::Tensor video = at::rand({1, 3, frames, height_px, width_px}, f32).mul_(2).sub_(1);
    reset_peak_rss();
    const int64_t rss_before = proc_status_bytes("VmRSS");
    start = Clock::now();
    const at::Tensor latent = vae.encode(video, run);
    (void)latent.abs().max().item<double>();
    const double encode_s = seconds_since(start);
    report_phase("encode (whole clip)", encode_s, frames, rss_before);
  }
  return 0;
}

}  // namespace reelforge::cli
