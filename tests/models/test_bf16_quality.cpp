// The quality guard of the bf16 fast path: the same weights run in float32 (the reference path)
// and in bf16 give outputs within a measured relative error. The bounds are the measured errors
// at these sizes with headroom (docs/performance.md has the figures, and those at real sizes).

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>

#include "reelforge/models/wan_dit.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"

namespace reelforge::models {
namespace {

double relative_error(const at::Tensor& reference, const at::Tensor& other) {
  return (other.to(at::kFloat) - reference).norm().item<double>() /
         reference.norm().item<double>();
}

tensors::Checkpoint as_checkpoint(const std::vector<std::pair<std::string, at::Tensor>>& named) {
  return tensors::Checkpoint::from_safetensors_bytes(tensors::serialize_safetensors(named));
}

TEST(BF16Quality, DiTForwardStaysCloseToFloat32) {
  c10::InferenceMode guard;
  WanDiTConfig config;
  config.dim = 256;
  config.ffn_dim = 1024;
  config.num_heads = 2;  // head_dim 128 as in every released Wan
  config.num_layers = 4;
  config.text_dim = 128;
  config.text_len = 32;
  config.freq_dim = 64;
  WanDiTLoadOptions f32;
  f32.device = Device::CPU;
  f32.dtype = ComputeDType::Float32;
  const WanDiT reference = WanDiT::random(config, f32, 11);
  WanDiTLoadOptions bf16 = f32;
  bf16.dtype = ComputeDType::BFloat16;
  bf16.hints.num_heads = config.num_heads;
  bf16.hints.text_len = config.text_len;
  const WanDiT fast = WanDiT::load(as_checkpoint(reference.named_parameters()), bf16);
  ASSERT_EQ(fast.compute_dtype(), at::kBFloat16);

  at::manual_seed(5);
  const at::Tensor x = at::randn({16, 3, 8, 12}), context = at::randn({20, 128});
  for (float t : {999.0f, 500.0f, 20.0f}) {
    const at::Tensor a = reference.forward({x}, at::tensor({t}), {context}, 72)[0];
    const at::Tensor b = fast.forward({x}, at::tensor({t}), {context}, 72)[0];
    const double error = relative_error(a, b);
    std::printf("DiT bf16 vs float32 at t = %g: relative error %.4f\n", t, error);
    EXPECT_LT(error, 0.015) << "t = " << t;  // measured 0.0040-0.0043
    EXPECT_GT(error, 0.0) << "the bf16 model really ran in bf16";
  }
}

TEST(BF16Quality, VAEDecodeStaysCloseToFloat32) {
  c10::InferenceMode guard;
  WanVAEConfig config = WanVAEConfig::preset(WanVAEVersion::V2_1);
  config.dim = 16;
  config.dec_dim = 16;
  WanVAELoadOptions f32;
  f32.device = Device::CPU;
  f32.dtype = ComputeDType::Float32;
  const WanVAE reference = WanVAE::random(config, f32, 3);
  WanVAELoadOptions bf16 = f32;
  bf16.dtype = ComputeDType::BFloat16;
  const WanVAE fast = WanVAE::load(as_checkpoint(reference.named_parameters()), bf16);
  at::manual_seed(6);
  const at::Tensor latent = at::randn({1, 16, 3, 6, 8});
  const double decode_error = relative_error(reference.decode(latent), fast.decode(latent));
  EXPECT_LT(decode_error, 0.04);  // measured 0.0141
  EXPECT_GT(decode_error, 0.0);
  const at::Tensor video = at::rand({1, 3, 9, 48, 64}) * 2 - 1;
  const double encode_error = relative_error(reference.encode(video), fast.encode(video));
  std::printf("VAE bf16 vs float32: decode %.4f, encode %.4f\n", decode_error, encode_error);
  EXPECT_LT(encode_error, 0.02);  // measured 0.0063
}

}  // namespace
}  // namespace reelforge::models
