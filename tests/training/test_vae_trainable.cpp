// The trainable Wan 2.1 VAE forward against the chunked inference class (WanVAE): parity in
// float32 over configs and clip lengths, gradients reaching every weight, the bf16 path, and a
// disabled timing of one training step.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/training/vae_trainable.hpp"
#include "reelforge/training/weights.hpp"

namespace reelforge {
namespace {

using models::WanVAE;
using models::WanVAEConfig;
using models::WanVAEVersion;
using training::NamedWeights;

WanVAEConfig small_config(int64_t num_res_blocks, int64_t z_dim = 16) {
  WanVAEConfig c = WanVAEConfig::preset(WanVAEVersion::V2_1);
  c.dim = 8;
  c.dec_dim = 8;
  c.z_dim = z_dim;
  c.dim_mult = {1, 2, 4, 4};
  c.num_res_blocks = num_res_blocks;
  c.temporal_downsample = {false, true, true};
  c.attn_scales.clear();
  return c;
}

models::WanVAELoadOptions cpu_f32() {
  models::WanVAELoadOptions o;
  o.device = Device::CPU;
  o.dtype = ComputeDType::Float32;
  return o;
}

// max |a - b| relative to max |b|.
double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9;
  const double scale = std::max(1e-6, b.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

void check_parity(const WanVAEConfig& config, int64_t t, int64_t h, int64_t w, uint64_t seed) {
  SCOPED_TRACE("T=" + std::to_string(t) + " " + std::to_string(h) + "x" + std::to_string(w));
  // Made-up latent statistics (any z_dim), so the normalisation round trip is exercised too.
  models::WanVAELoadOptions options = cpu_f32();
  for (int64_t i = 0; i < config.z_dim; ++i) {
    options.latent_mean.push_back(0.1 * double(i % 5) - 0.2);
    options.latent_std.push_back(0.5 + 0.1 * double(i % 7));
  }
  const WanVAE vae = WanVAE::random(config, options, seed);
  const NamedWeights weights = training::trainable_copy(vae.named_parameters());
  at::manual_seed(int64_t(seed));
  const at::Tensor video = at::rand({2, 3, t, h, w}).mul(2).sub(1);

  const auto [mu_ref, lv_ref] = vae.encode_moments(video);
  const auto [mu, lv] = training::vae_encode_moments(weights, config, video, at::kFloat);
  EXPECT_EQ(mu.size(2), 1 + (t - 1) / config.temporal_stride());
  EXPECT_LE(rel_diff(mu, mu_ref), 1e-4);
  EXPECT_LE(rel_diff(lv, lv_ref), 1e-4);

  // WanVAE::decode takes normalised latents.
  const at::Tensor z = at::randn_like(mu_ref);
  const at::Tensor mean = vae.latent_mean().view({1, -1, 1, 1, 1});
  const at::Tensor sd = vae.latent_std().view({1, -1, 1, 1, 1});
  const at::Tensor ref = vae.decode((z - mean) / sd);
  const at::Tensor out = training::vae_decode(weights, config, z, at::kFloat);
  EXPECT_EQ(out.size(2), t);
  EXPECT_LE(rel_diff(out, ref), 1e-4);
}

TEST(VAETrainable, MatchesInferenceOneResBlock) {
  const WanVAEConfig c = small_config(1);
  for (int64_t t : {1, 5, 9}) check_parity(c, t, 32, 32, 1);
  check_parity(c, 5, 16, 40, 2);
}

TEST(VAETrainable, MatchesInferenceTwoResBlocks) {
  const WanVAEConfig c = small_config(2);
  for (int64_t t : {1, 5, 9}) check_parity(c, t, 32, 32, 3);
  check_parity(c, 9, 24, 16, 4);
}

TEST(VAETrainable, MatchesInferenceOtherConfigs) {
  // Attention inside the stages, one temporal downsample, z 4, three stages.
  WanVAEConfig c = small_config(1, 4);
  c.attn_scales = {0.5, 0.25};
  c.temporal_downsample = {false, false, true};
  for (int64_t t : {1, 5, 9}) check_parity(c, t, 32, 32, 5);

  WanVAEConfig three = small_config(1, 4);
  three.dim_mult = {1, 2, 2};
  three.temporal_downsample = {true, false};
  for (int64_t t : {1, 9}) check_parity(three, t, 16, 24, 6);
}

TEST(VAETrainable, GradientsReachEveryWeight) {
  const WanVAEConfig c = small_config(1);
  const WanVAE vae = WanVAE::random(c, cpu_f32(), 8);
  const NamedWeights weights = training::trainable_copy(vae.named_parameters());
  at::manual_seed(8);
  const at::Tensor video = at::rand({1, 3, 5, 16, 16}).mul(2).sub(1);
  const auto [mu, log_var] = training::vae_encode_moments(weights, c, video, at::kFloat);
  const at::Tensor z = mu + at::exp(log_var.mul(0.5)) * at::randn_like(mu);
  const at::Tensor recon = training::vae_decode(weights, c, z, at::kFloat);
  const at::Tensor loss =
      (recon - video).abs().mean() + 1e-3 * (mu.pow(2) + log_var.exp() - log_var - 1).mean();
  loss.backward();
  ASSERT_EQ(weights.size(), vae.named_parameters().size());
  for (const auto& [name, t] : weights) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(t.grad().defined());
    EXPECT_TRUE(t.grad().isfinite().all().item<bool>());
    EXPECT_GT(t.grad().abs().max().item<double>(), 0.0);
  }
}

TEST(VAETrainable, BFloat16CloseToFloat32) {
  const WanVAEConfig c = small_config(1);
  const WanVAE vae = WanVAE::random(c, cpu_f32(), 9);
  const NamedWeights weights = training::trainable_copy(vae.named_parameters());
  at::manual_seed(9);
  const at::Tensor video = at::rand({1, 3, 5, 32, 32}).mul(2).sub(1);
  const auto [mu32, lv32] = training::vae_encode_moments(weights, c, video, at::kFloat);
  const auto [mu16, lv16] = training::vae_encode_moments(weights, c, video, at::kBFloat16);
  EXPECT_EQ(mu16.scalar_type(), at::kFloat);
  EXPECT_LE(rel_diff(mu16, mu32), 0.1);
  const at::Tensor out32 = training::vae_decode(weights, c, mu32, at::kFloat);
  const at::Tensor out16 = training::vae_decode(weights, c, mu32, at::kBFloat16);
  EXPECT_EQ(out16.scalar_type(), at::kFloat);
  EXPECT_LE(rel_diff(out16, out32), 0.1);
  // Gradients flow through the bf16 casts to the float32 masters.
  (out16.abs().mean() + mu16.abs().mean()).backward();
  const at::Tensor& g = training::weight(weights, "encoder.conv1.weight").grad();
  ASSERT_TRUE(g.defined());
  EXPECT_EQ(g.scalar_type(), at::kFloat);
  EXPECT_TRUE(g.isfinite().all().item<bool>());
}

TEST(VAETrainable, RejectsWan22AndBadShapes) {
  const WanVAEConfig c = small_config(1);
  const NamedWeights weights =
      training::trainable_copy(WanVAE::random(c, cpu_f32(), 1).named_parameters());
  WanVAEConfig v22 = WanVAEConfig::preset(WanVAEVersion::V2_2);
  auto category = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.category();
    }
    ADD_FAILURE() << "no error";
    return ErrorCategory::Internal;
  };
  const at::Tensor video = at::zeros({1, 3, 5, 16, 16});
  EXPECT_EQ(category([&] { training::vae_encode_moments(weights, v22, video, at::kFloat); }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(category([&] {
              training::vae_encode_moments(weights, c, at::zeros({1, 3, 4, 16, 16}), at::kFloat);
            }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(category([&] {
              training::vae_encode_moments(weights, c, at::zeros({1, 3, 5, 12, 16}), at::kFloat);
            }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(category([&] {
              training::vae_decode(weights, c, at::zeros({1, 4, 2, 2, 2}), at::kFloat);
            }),
            ErrorCategory::InvalidArgument);
}

}  // namespace
}  // namespace reelforge
