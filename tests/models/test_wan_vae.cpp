// The Wan VAEs: golden fixtures (Wan 2.1 and 2.2 reference outputs), streaming == whole-clip,
// input validation, checkpoint key layouts and config inference, spatial tiling, bf16.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/fixtures/fixture_check.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "support/testing.hpp"

namespace reelforge {
namespace {

using models::WanVAE;
using models::WanVAEConfig;
using models::WanVAEVersion;

std::filesystem::path vae_fixture(const std::string& name) {
  const auto dir = testing::fixtures_or_empty();
  if (dir.empty() || !std::filesystem::exists(dir / "wan" / name)) return {};
  return dir / "wan" / name;
}

#define OPEN_VAE_FIXTURE(var, name)                                                         \
  const std::filesystem::path var##_path = vae_fixture(name);                               \
  if (var##_path.empty()) {                                                                 \
    if (testing::running_in_ci()) FAIL() << "fixture " << name << " missing in CI";         \
    GTEST_SKIP() << "golden fixture wan/" << name << " not found (set REELFORGE_FIXTURES)"; \
  }                                                                                         \
  const auto var = tensors::Checkpoint::open(var##_path)

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble).cpu() - b.to(at::kDouble).cpu()).abs().max().item<double>();
}

// The fixtures' rule: max|a - e| <= tol * max(1, max|e|).
void expect_close(const at::Tensor& actual, const at::Tensor& expected, double tol,
                  const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  EXPECT_LE(max_abs_diff(actual, expected), tol * scale) << what;
}

models::WanVAELoadOptions fixture_options(const tensors::Checkpoint& f) {
  models::WanVAELoadOptions o;
  o.device = Device::CPU;
  o.dtype = ComputeDType::Float32;
  o.ignore_prefixes = {"input.", "output.", "debug."};
  const at::Tensor mean = f.load("input.scale_mean", at::kDouble);
  const at::Tensor std = f.load("input.scale_std", at::kDouble);
  o.latent_mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  o.latent_std.assign(std.data_ptr<double>(), std.data_ptr<double>() + std.numel());
  return o;
}

void check_fixture_outputs(const tensors::Checkpoint& f, const WanVAE& vae) {
  c10::InferenceMode guard;
  const at::Tensor video = f.load("input.video", at::kFloat);
  const auto [mu_raw, log_var] = vae.encode_moments(video);
  const at::Tensor conv1 = f.load("debug.conv1_out");
  expect_close(at::cat({mu_raw, log_var}, 1), conv1, 1e-4, "debug.conv1_out");
  const at::Tensor mu = vae.encode(video);
  expect_close(mu, f.load("output.mu"), 1e-4, "output.mu");
  expect_close(vae.decode(f.load("input.z", at::kFloat)), f.load("output.decoded"), 1e-4,
               "output.decoded");
  expect_close(vae.decode(mu), f.load("output.decoded_own"), 2e-4, "output.decoded_own");
}

WanVAEConfig tiny_config(WanVAEVersion version) {
  WanVAEConfig c = WanVAEConfig::preset(version);
  c.dim = 4;
  c.dec_dim = version == WanVAEVersion::V2_2 ? 6 : 4;
  c.z_dim = version == WanVAEVersion::V2_2 ? 48 : 16;
  return c;
}

models::WanVAELoadOptions cpu_f32() {
  models::WanVAELoadOptions o;
  o.device = Device::CPU;
  o.dtype = ComputeDType::Float32;
  return o;
}

// ---- golden fixtures --------------------------------------------------------------------------

TEST(WanVAEFixture, Wan21MatchesReference) {
  OPEN_VAE_FIXTURE(f, "vae21_tiny.safetensors");
  const WanVAE vae = WanVAE::load(f, fixture_options(f));
  EXPECT_EQ(vae.config().version, WanVAEVersion::V2_1);
  EXPECT_EQ(vae.config().dim, 4);
  EXPECT_EQ(vae.config().z_dim, 16);
  EXPECT_EQ(vae.config().temporal_downsample, (std::vector<bool>{false, true, true}));
  check_fixture_outputs(f, vae);
}

TEST(WanVAEFixture, Wan22MatchesReference) {
  OPEN_VAE_FIXTURE(f, "vae22_tiny.safetensors");
  const WanVAE vae = WanVAE::load(f, fixture_options(f));
  EXPECT_EQ(vae.config().version, WanVAEVersion::V2_2);
  EXPECT_EQ(vae.config().dim, 4);
  EXPECT_EQ(vae.config().dec_dim, 6);
  EXPECT_EQ(vae.config().z_dim, 48);
  EXPECT_EQ(vae.config().spatial_stride(), 16);
  check_fixture_outputs(f, vae);
}

TEST(WanVAEFixture, CheckFixtureCommandPathPasses) {
  for (const char* name : {"vae21_tiny.safetensors", "vae22_tiny.safetensors"}) {
    const auto path = vae_fixture(name);
    if (path.empty()) {
      if (testing::running_in_ci()) FAIL() << "fixture missing in CI";
      GTEST_SKIP() << "golden fixtures not found";
    }
    const fixtures::FixtureReport report = fixtures::check_fixture(path);
    EXPECT_EQ(report.kind, "vae");
    EXPECT_EQ(report.outputs.size(), 3u);
    EXPECT_TRUE(report.passed()) << name;
  }
}

// ---- streaming --------------------------------------------------------------------------------

class WanVAEStreaming : public ::testing::TestWithParam<WanVAEVersion> {};

TEST_P(WanVAEStreaming, StreamsEqualWholeClip) {
  c10::InferenceMode guard;
  const WanVAEConfig config = tiny_config(GetParam());
  const WanVAE vae = WanVAE::random(config, cpu_f32(), 7);
  const int64_t s = config.spatial_stride();
  const at::Tensor video = at::rand({1, 3, 13, 2 * s, 3 * s}).mul_(2).sub_(1);  // [B, 3, T, H, W]
  const at::Tensor latent = vae.encode(video);
  ASSERT_EQ(latent.sizes(), (std::vector<int64_t>{1, config.z_dim, 4, 2, 3}));

  // Encode in irregular pushes: 3 frames (frame 0 + 2 pending), 6, 4.
  auto enc = vae.encode_stream();
  std::vector<at::Tensor> parts;
  parts.push_back(enc.push(video.narrow(2, 0, 3)));
  EXPECT_EQ(parts.back().size(2), 1);
  parts.push_back(enc.push(video.narrow(2, 3, 6)));
  parts.push_back(enc.push(video.narrow(2, 9, 4)));
  EXPECT_EQ(enc.frames_in(), 13);
  EXPECT_THROW(enc.push(at::zeros({1, 3, 4, s, s})), Error);  // size changed
  EXPECT_EQ(max_abs_diff(at::cat(parts, 2), latent), 0.0);

  // Decode all at once vs the callback (chunks of 1, 4, 4, 4 frames) vs pushes of 2 + 1 + 1.
  const at::Tensor whole = vae.decode(latent);
  ASSERT_EQ(whole.size(2), 13);
  std::vector<int64_t> sizes, starts;
  at::Tensor streamed = at::zeros_like(whole);
  vae.decode_streaming(latent, [&](const at::Tensor& frames, int64_t first) {
    sizes.push_back(frames.size(2));
    starts.push_back(first);
    streamed.narrow(2, first, frames.size(2)).copy_(frames);
  });
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 4, 4, 4}));
  EXPECT_EQ(starts, (std::vector<int64_t>{0, 1, 5, 9}));
  EXPECT_EQ(max_abs_diff(streamed, whole), 0.0);
  auto dec = vae.decode_stream();
  const at::Tensor a = dec.push(latent.narrow(2, 0, 2));
  const at::Tensor b = dec.push(latent.narrow(2, 2, 1));
  const at::Tensor c = dec.push(latent.narrow(2, 3, 1));
  EXPECT_EQ(a.size(2), 5);
  EXPECT_EQ(dec.frames_out(), 13);
  EXPECT_EQ(max_abs_diff(at::cat({a, b, c}, 2), whole), 0.0);
  EXPECT_THROW(dec.push(at::zeros({1, config.z_dim, 1, 3, 3})), Error);  // size changed
}

INSTANTIATE_TEST_SUITE_P(Versions, WanVAEStreaming,
                         ::testing::Values(WanVAEVersion::V2_1, WanVAEVersion::V2_2));

TEST(WanVAE, CausalConvReferenceIsZeroPaddedConv) {
  c10::InferenceMode guard;
  const at::Tensor x = at::randn({1, 4, 5, 6, 7});
  const at::Tensor w = at::randn({3, 4, 3, 3, 3}), b = at::randn({3});
  const at::Tensor padded = at::constant_pad_nd(x, {1, 1, 1, 1, 2, 0});
  const at::Tensor expected = at::conv3d(padded, w, b);
  EXPECT_LE(max_abs_diff(WanVAE::causal_conv3d_reference(x, w, b), expected), 1e-5);
}

// A VAE without temporal resampling is a plain causal network: encoding the clip in chunks
// (frame 0, then 4s) must equal encoding every frame prefix, i.e. latent frame i depends on
// frames <= i only, with the same values whatever follows.
TEST(WanVAE, CachedPathIsCausal) {
  c10::InferenceMode guard;
  WanVAEConfig config = tiny_config(WanVAEVersion::V2_1);
  config.temporal_downsample = {false, false, false};
  const WanVAE vae = WanVAE::random(config, cpu_f32(), 3);
  const at::Tensor video = at::rand({1, 3, 9, 16, 16});
  const at::Tensor full = vae.encode(video);  // [1, 16, 9, 2, 2]
  ASSERT_EQ(full.size(2), 9);
  const at::Tensor prefix = vae.encode(video.narrow(2, 0, 5));
  EXPECT_LE(max_abs_diff(full.narrow(2, 0, 5), prefix), 1e-5);
  at::Tensor changed = video.clone();
  changed.narrow(2, 8, 1).fill_(0.3);
  EXPECT_LE(max_abs_diff(vae.encode(changed).narrow(2, 0, 8), full.narrow(2, 0, 8)), 1e-6);
  EXPECT_GT(max_abs_diff(vae.encode(changed).narrow(2, 8, 1), full.narrow(2, 8, 1)), 1e-4);
}

// ---- validation -------------------------------------------------------------------------------

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(WanVAE, RejectsBadInputsClearly) {
  c10::InferenceMode guard;
  const WanVAE vae = WanVAE::random(tiny_config(WanVAEVersion::V2_1), cpu_f32(), 1);
  expect_error([&] { vae.encode(at::zeros({1, 3, 8, 16, 16})); }, "nearest valid: 5 or 9");
  expect_error([&] { vae.encode(at::zeros({1, 4, 9, 16, 16})); }, "has 4 channels");
  expect_error([&] { vae.encode(at::zeros({1, 3, 9, 30, 16})); }, "nearest valid: 24 or 32");
  expect_error([&] { vae.decode(at::zeros({1, 15, 2, 2, 2})); }, "takes 16");
  expect_error([&] { vae.decode(at::zeros({15, 2, 2, 2})); }, "[B, C, F, H, W]");
  models::WanVAEDecodeOptions bad;
  bad.tiling.tile_latent = 4;
  bad.tiling.overlap_latent = 4;
  expect_error([&] { vae.decode(at::zeros({1, 16, 1, 8, 8}), bad); }, "less than the tile");
  models::WanVAELoadOptions wrong_stats = cpu_f32();
  wrong_stats.latent_mean = {0.0, 1.0};
  expect_error([&] { WanVAE::random(tiny_config(WanVAEVersion::V2_1), wrong_stats); }, "z_dim 16");
}

TEST(WanVAE, ManifestSettingsApply) {
  c10::InferenceMode guard;
  const WanVAE vae = WanVAE::random(tiny_config(WanVAEVersion::V2_1), cpu_f32(), 1);
  testing::TempDir dir;
  tensors::save_safetensors(dir / "vae.safetensors", vae.named_parameters());
  const auto file = tensors::Checkpoint::open(dir / "vae.safetensors");
  models::VAESpec spec;
  spec.version = "2.1";
  spec.latent_mean.assign(16, 0.5);
  spec.latent_std.assign(16, 4.0);
  models::WanVAELoadOptions o = models::WanVAELoadOptions::from_spec(spec);
  o.device = Device::CPU;
  o.dtype = ComputeDType::Float32;
  const WanVAE loaded = WanVAE::load(file, o);
  EXPECT_NEAR(loaded.latent_mean()[3].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(loaded.latent_std()[3].item<double>(), 4.0, 1e-7);
  // Normalisation is (mu - mean) / std.
  const at::Tensor video = at::rand({1, 3, 1, 16, 16});
  const at::Tensor mu = loaded.encode_moments(video).first;
  EXPECT_LE(max_abs_diff(loaded.encode(video), (mu - 0.5) / 4.0), 1e-6);
  spec.version = "2.2";
  o.expected_version = models::WanVAELoadOptions::from_spec(spec).expected_version;
  EXPECT_THROW(WanVAE::load(file, o), Error);
}

TEST(WanVAE, PublishedNormalisationIsTheDefault) {
  const WanVAE v21 = WanVAE::random(tiny_config(WanVAEVersion::V2_1), cpu_f32());
  EXPECT_NEAR(v21.latent_mean()[0].item<double>(), -0.7571, 1e-6);
  EXPECT_NEAR(v21.latent_std()[15].item<double>(), 1.9160, 1e-6);
  const WanVAE v22 = WanVAE::random(tiny_config(WanVAEVersion::V2_2), cpu_f32());
  EXPECT_EQ(v22.latent_mean().numel(), 48);
  EXPECT_NEAR(v22.latent_mean()[47].item<double>(), -0.0667, 1e-6);
  EXPECT_NEAR(v22.latent_std()[0].item<double>(), 0.4765, 1e-6);
}

// ---- layouts and config inference ---------------------------------------------------------------

// Writes the VAE's parameters under renamed keys and loads them back.
WanVAE reload_renamed(const WanVAE& vae,
                      const std::function<std::string(const std::string&)>& rename,
                      const testing::TempDir& dir, const std::string& file,
                      models::WanVAELayout layout = models::WanVAELayout::Auto) {
  tensors::NamedTensors named;
  for (const auto& [name, t] : vae.named_parameters()) named.emplace_back(rename(name), t);
  tensors::save_safetensors(dir / file, named);
  models::WanVAELoadOptions o = cpu_f32();
  o.layout = layout;
  return WanVAE::load(tensors::Checkpoint::open(dir / file), o);
}

TEST(WanVAELayouts, OfficialComfyAndDiffusersNamesLoadTheSameModel) {
  c10::InferenceMode guard;
  const WanVAE vae = WanVAE::random(tiny_config(WanVAEVersion::V2_1), cpu_f32(), 5);
  const at::Tensor z = at::randn({1, 16, 2, 3, 4});
  const at::Tensor expected = vae.decode(z);
  testing::TempDir dir;
  const auto same = [](const std::string& n) { return n; };
  const auto comfy = [](const std::string& n) { return "first_stage_model." + n; };
  const auto diffusers = [](const std::string& n) {
    return models::WanVAEKeyMap::official_to_diffusers(n, 3);
  };
  for (const auto& [label, rename] :
       std::vector<std::pair<std::string, std::function<std::string(const std::string&)>>>{
           {"official", same}, {"prefixed", comfy}, {"diffusers", diffusers}}) {
    const WanVAE loaded = reload_renamed(vae, rename, dir, label + ".safetensors");
    EXPECT_EQ(max_abs_diff(loaded.decode(z), expected), 0.0) << label;
  }
  // The diffusers names really are different (and as the README's table says).
  EXPECT_EQ(diffusers("decoder.upsamples.7.resample.1.weight"),
            "decoder.up_blocks.1.upsamplers.0.resample.1.weight");
  EXPECT_EQ(diffusers("decoder.upsamples.13.residual.3.gamma"),
            "decoder.up_blocks.3.resnets.1.norm2.gamma");
  EXPECT_EQ(diffusers("encoder.middle.1.to_qkv.weight"),
            "encoder.mid_block.attentions.0.to_qkv.weight");
  EXPECT_EQ(diffusers("conv2.bias"), "post_quant_conv.bias");
  const auto layout = models::WanVAEKeyMap::detect({"vae.encoder.conv_in.weight", "other.x"});
  EXPECT_EQ(layout.layout, models::WanVAELayout::Diffusers);
  EXPECT_EQ(layout.prefix, "vae.");
}

TEST(WanVAELayouts, FixtureRenamedToDiffusersMatchesReference) {
  OPEN_VAE_FIXTURE(f, "vae21_tiny.safetensors");
  c10::InferenceMode guard;
  testing::TempDir dir;
  tensors::NamedTensors named;
  for (const std::string& n : f.names()) {
    const bool data =
        n.rfind("input.", 0) == 0 || n.rfind("output.", 0) == 0 || n.rfind("debug.", 0) == 0;
    named.emplace_back(data ? n : models::WanVAEKeyMap::official_to_diffusers(n), f.load(n));
  }
  tensors::save_safetensors(dir / "diffusers.safetensors", named);
  const auto renamed = tensors::Checkpoint::open(dir / "diffusers.safetensors");
  EXPECT_FALSE(renamed.contains("decoder.upsamples.0.residual.0.gamma"));
  const WanVAE vae = WanVAE::load(renamed, fixture_options(renamed));
  check_fixture_outputs(renamed, vae);
}

TEST(WanVAELayouts, ConfigIsInferredFromWeights) {
  c10::InferenceMode guard;
  WanVAEConfig c = tiny_config(WanVAEVersion::V2_1);
  c.dim = 3;
  c.dec_dim = 3;
  c.z_dim = 8;
  c.dim_mult = {1, 2, 3};
  c.num_res_blocks = 1;
  c.attn_scales = {0.5};
  c.temporal_downsample = {true, false};
  models::WanVAELoadOptions o = cpu_f32();
  o.latent_mean.assign(8, 0.1);
  o.latent_std.assign(8, 2.0);
  const WanVAE vae = WanVAE::random(c, o, 2);
  testing::TempDir dir;
  tensors::save_safetensors(dir / "v.safetensors", [&] {
    tensors::NamedTensors named;
    for (const auto& p : vae.named_parameters()) named.push_back(p);
    return named;
  }());
  const WanVAE loaded = WanVAE::load(tensors::Checkpoint::open(dir / "v.safetensors"), o);
  const WanVAEConfig& got = loaded.config();
  EXPECT_EQ(got.dim, 3);
  EXPECT_EQ(got.z_dim, 8);
  EXPECT_EQ(got.dim_mult, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(got.num_res_blocks, 1);
  EXPECT_EQ(got.attn_scales, (std::vector<double>{0.5}));
  EXPECT_EQ(got.temporal_downsample, (std::vector<bool>{true, false}));
  EXPECT_EQ(got.temporal_stride(), 2);
  EXPECT_EQ(loaded.parameter_count(), vae.parameter_count());
  // 1 + 2k frames for this VAE's decoder: 3 latent frames -> 5 frames.
  EXPECT_EQ(loaded.decode(at::randn({1, 8, 3, 2, 2})).size(2), 5);

  // A missing tensor is reported by name.
  tensors::NamedTensors partial;
  for (const auto& p : vae.named_parameters()) {
    if (p.first != "decoder.head.2.bias") partial.push_back(p);
  }
  tensors::save_safetensors(dir / "partial.safetensors", partial);
  try {
    WanVAE::load(tensors::Checkpoint::open(dir / "partial.safetensors"), o);
    ADD_FAILURE() << "loaded a checkpoint with a missing tensor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoder.head.2.bias"), std::string::npos) << e.what();
  }
}

TEST(WanVAELayouts, Wan22ConfigIsInferredFromWeights) {
  c10::InferenceMode guard;
  WanVAEConfig c = tiny_config(WanVAEVersion::V2_2);
  c.dec_dim = 8;
  c.z_dim = 12;
  models::WanVAELoadOptions o = cpu_f32();
  o.latent_mean.assign(12, 0.0);
  o.latent_std.assign(12, 1.0);
  const WanVAE vae = WanVAE::random(c, o, 2);
  testing::TempDir dir;
  tensors::NamedTensors named;
  for (const auto& p : vae.named_parameters()) named.emplace_back("vae." + p.first, p.second);
  tensors::save_safetensors(dir / "v.safetensors", named);
  const WanVAE loaded = WanVAE::load(tensors::Checkpoint::open(dir / "v.safetensors"), o);
  EXPECT_EQ(loaded.config().version, WanVAEVersion::V2_2);
  EXPECT_EQ(loaded.config().dim, 4);
  EXPECT_EQ(loaded.config().dec_dim, 8);
  EXPECT_EQ(loaded.config().z_dim, 12);
  EXPECT_EQ(loaded.config().temporal_downsample, (std::vector<bool>{false, true, true}));
}

// ---- tiling -----------------------------------------------------------------------------------

// PSNR of `a` against the reference `b`, with the reference's peak-to-peak range as the signal
// peak (2 for video in [-1, 1]).
double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double peak = (b.max() - b.min()).item<double>();
  const double mse = (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).mean().item<double>();
  return 10.0 * std::log10(peak * peak / std::max(mse, 1e-30));
}

class WanVAETiling : public ::testing::TestWithParam<WanVAEVersion> {};

TEST_P(WanVAETiling, TiledDecodeHasInvisibleSeams) {
  c10::InferenceMode guard;
  const WanVAEConfig config = tiny_config(GetParam());
  const WanVAE vae = WanVAE::random(config, cpu_f32(), 11);
  const at::Tensor z = at::randn({1, config.z_dim, 2, 14, 20});
  const at::Tensor whole = vae.decode(z);
  models::WanVAEDecodeOptions tiled;
  tiled.tiling.tile_latent = 12;
  tiled.tiling.overlap_latent = 6;  // 2 x 3 tiles
  const at::Tensor t = vae.decode(z, tiled);
  ASSERT_EQ(t.sizes(), whole.sizes());
  const double db = psnr(t, whole);
  std::printf("tiled decode (Wan %s): PSNR %.1f dB\n", to_string(GetParam()), db);
  RecordProperty("psnr_db", std::to_string(db));
  EXPECT_GE(db, 40.0);
  EXPECT_GT(max_abs_diff(t, whole), 0.0);  // really tiled

  // Automatic tiling when a chunk would exceed the budget gives the same kind of result.
  models::WanVAEDecodeOptions automatic;
  automatic.tiling.auto_budget_bytes = vae.estimate_decode_bytes(14, 20) / 3;
  const at::Tensor a = vae.decode(z.narrow(2, 0, 1), automatic);
  const at::Tensor first = whole.narrow(2, 0, 1);
  EXPECT_GT(max_abs_diff(a, first), 0.0);  // really tiled
  EXPECT_GE(psnr(a, first), 40.0);
}

TEST_P(WanVAETiling, TiledEncodeIsCloseToWhole) {
  c10::InferenceMode guard;
  const WanVAEConfig config = tiny_config(GetParam());
  const WanVAE vae = WanVAE::random(config, cpu_f32(), 12);
  const int64_t s = config.spatial_stride();
  const at::Tensor video = at::rand({1, 3, 5, 14 * s, 20 * s}).mul_(2).sub_(1);
  const at::Tensor whole = vae.encode(video);
  models::WanVAEDecodeOptions tiled;
  tiled.tiling.tile_latent = 12;
  tiled.tiling.overlap_latent = 6;
  const at::Tensor t = vae.encode(video, tiled);
  EXPECT_GT(max_abs_diff(t, whole), 0.0);
  EXPECT_GE(psnr(t, whole), 40.0);
}

INSTANTIATE_TEST_SUITE_P(Versions, WanVAETiling,
                         ::testing::Values(WanVAEVersion::V2_1, WanVAEVersion::V2_2));

// ---- bf16 -------------------------------------------------------------------------------------

TEST(WanVAE, BFloat16RunsCloseToFloat32) {
  c10::InferenceMode guard;
  const WanVAEConfig config = tiny_config(WanVAEVersion::V2_1);
  const WanVAE f32 = WanVAE::random(config, cpu_f32(), 4);
  models::WanVAELoadOptions o = cpu_f32();
  o.dtype = ComputeDType::BFloat16;
  const WanVAE bf16 = WanVAE::random(config, o, 4);
  EXPECT_EQ(bf16.compute_dtype(), at::kBFloat16);
  const at::Tensor z = at::randn({1, 16, 2, 4, 4});
  const at::Tensor a = f32.decode(z), b = bf16.decode(z);
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(b).all().item<bool>());
  EXPECT_GE(psnr(b, a), 25.0);
}

}  // namespace
}  // namespace reelforge
