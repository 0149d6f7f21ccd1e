#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "reelforge/core/error.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/training/dit_trainable.hpp"

namespace reelforge::training {
namespace {

models::WanDiTConfig small_config(models::WanModelType type) {
  models::WanDiTConfig c;
  c.model_type = type;
  c.in_dim = c.out_dim = 4;
  c.dim = 32;
  c.ffn_dim = 48;
  c.freq_dim = 16;
  c.text_dim = 12;
  c.text_len = 8;
  c.num_heads = 2;
  c.num_layers = 2;
  return c;
}

models::WanDiTLoadOptions float32_cpu() {
  models::WanDiTLoadOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  return options;
}

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().clamp_min(1e-12).item<double>();
}

// The twin computes what WanDiT computes on the same weights: per-sample and per-token timesteps,
// text shorter than text_len, a non-square grid.
TEST(DiTTrainable, MatchesTheInferenceModelInFloat32) {
  for (const auto type : {models::WanModelType::T2V, models::WanModelType::TI2V}) {
    const models::WanDiTConfig c = small_config(type);
    const models::WanDiT model = models::WanDiT::random(c, float32_cpu(), /*seed=*/3);
    const NamedWeights w = trainable_copy(model.named_parameters());
    at::manual_seed(0);
    const at::Tensor x = at::randn({2, 4, 3, 4, 6});
    const at::Tensor text = at::randn({2, 5, 12});
    const int64_t tokens = 3 * 2 * 3;
    const at::Tensor t = type == models::WanModelType::T2V
                             ? at::tensor({700.0F, 120.0F})
                             : at::cat({at::zeros({2, 6}), at::full({2, tokens - 6}, 640.0F)}, 1);
    const at::Tensor expected = model.forward_batch(x, t, model.embed_text({text[0], text[1]}));
    at::Tensor got;
    {
      at::NoGradGuard no_grad;
      got = dit_forward(w, c, x, t, text, at::kFloat);
    }
    EXPECT_LT(relative_error(got, expected), 1e-5) << models::to_string(type);
  }
}

// The tap hands out the residual stream after the first k blocks: what a k-block DiT with the same
// first blocks has after all of its own; a tap beyond the blocks is refused.
TEST(DiTTrainable, TheTapHandsOutTheStreamAfterItsBlocks) {
  models::WanDiTConfig c = small_config(models::WanModelType::T2V);
  const NamedWeights w =
      trainable_copy(models::WanDiT::random(c, float32_cpu(), /*seed=*/5).named_parameters());
  models::WanDiTConfig shallow = c;
  shallow.num_layers = 1;
  NamedWeights first_block;
  for (const auto& [name, tensor] : w) {
    if (name.rfind("blocks.1.", 0) != 0) first_block.emplace(name, tensor);
  }
  at::manual_seed(1);
  const at::Tensor x = at::randn({2, 4, 3, 4, 6});
  const at::Tensor text = at::randn({2, 5, 12});
  const at::Tensor t = at::tensor({700.0F, 120.0F});
  at::NoGradGuard no_grad;
  at::Tensor after_one, after_all, shallow_after_one;
  dit_forward(w, c, x, t, text, at::kFloat, {1, &after_one});
  dit_forward(w, c, x, t, text, at::kFloat, {2, &after_all});
  dit_forward(first_block, shallow, x, t, text, at::kFloat, {1, &shallow_after_one});
  ASSERT_EQ(after_one.sizes(), (at::IntArrayRef{2, 3 * 2 * 3, 32}));
  EXPECT_TRUE(at::equal(after_one, shallow_after_one));
  EXPECT_FALSE(at::allclose(after_one, after_all));
  at::Tensor beyond;
  EXPECT_THROW(dit_forward(w, c, x, t, text, at::kFloat, {3, &beyond}), Error);
  EXPECT_THROW(dit_forward(w, c, x, t, text, at::kFloat, {0, &beyond}), Error);
}

// Timesteps shared by each latent frame's tokens are embedded once per frame; any other pattern
// token by token. Both must give the reference's output.
TEST(DiTTrainable, PerTokenTimestepsMatchTheInferenceModelInEveryPattern) {
  const models::WanDiTConfig c = small_config(models::WanModelType::TI2V);
  const models::WanDiT model = models::WanDiT::random(c, float32_cpu(), /*seed=*/4);
  const NamedWeights w = trainable_copy(model.named_parameters());
  at::manual_seed(2);
  const at::Tensor x = at::randn({2, 4, 3, 4, 6});
  const at::Tensor text = at::randn({2, 5, 12});
  const int64_t per_frame = 2 * 3, tokens = 3 * per_frame;
  const at::Tensor frames = at::tensor({0.0F, 500.0F, 500.0F, 0.0F, 0.0F, 900.0F}).view({2, 3});
  for (const at::Tensor& t : {frames.repeat_interleave(per_frame, 1),
                              at::rand({2, tokens}) * 1000.0, at::full({2, tokens}, 250.0F)}) {
    const at::Tensor expected = model.forward_batch(x, t, model.embed_text({text[0], text[1]}));
    at::NoGradGuard no_grad;
    EXPECT_LT(relative_error(dit_forward(w, c, x, t, text, at::kFloat), expected), 1e-5)
        << t[0].narrow(0, 0, 8);
  }
}

TEST(DiTTrainable, GradientsReachEveryWeight) {
  const models::WanDiTConfig c = small_config(models::WanModelType::TI2V);
  const NamedWeights w =
      trainable_copy(models::WanDiT::random(c, float32_cpu(), 5).named_parameters());
  at::manual_seed(1);
  const at::Tensor out = dit_forward(w, c, at::randn({2, 4, 2, 4, 4}), at::tensor({300.0F, 900.0F}),
                                     at::randn({2, 8, 12}), at::kBFloat16);
  out.pow(2).mean().backward();
  for (const auto& [name, tensor] : w) {
    ASSERT_TRUE(tensor.grad().defined()) << name;
    EXPECT_TRUE(at::isfinite(tensor.grad()).all().item<bool>()) << name;
    EXPECT_GT(tensor.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

// adaLN-zero: an untrained network predicts exactly zero, and still learns (the head's gradient
// is non-zero).
TEST(DiTTrainable, FreshWeightsStartAtZeroOutput) {
  const models::WanDiTConfig c = small_config(models::WanModelType::TI2V);
  const NamedWeights w = init_dit_weights(c, 9);
  const at::Tensor out = dit_forward(w, c, at::randn({1, 4, 2, 4, 4}), at::tensor({500.0F}),
                                     at::randn({1, 3, 12}), at::kFloat);
  EXPECT_EQ(out.abs().max().item<double>(), 0.0);
  (out - 1.0).pow(2).mean().backward();
  EXPECT_GT(weight(w, "head.head.weight").grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace reelforge::training
