// Classifier-free guidance, Wan's default negative prompt and seeded noise.

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/sampling/guidance.hpp"
#include "reelforge/sampling/noise.hpp"

namespace rs = reelforge::sampling;
using reelforge::Error;
using reelforge::ErrorCategory;

TEST(Guidance, ExtrapolatesFromUncondTowardsCond) {
  const at::Tensor cond = rs::make_noise({2, 3, 4}, 1);
  const at::Tensor uncond = rs::make_noise({2, 3, 4}, 2);
  const at::Tensor guided = rs::apply_guidance(cond, uncond, 5.0);
  EXPECT_TRUE(at::allclose(guided, uncond + 5.0 * (cond - uncond), 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(rs::apply_guidance(cond, uncond, 0.0), uncond));
  // The guided output is not cond, so guidance did something.
  EXPECT_GT((guided - cond).abs().max().item<double>(), 0.1);
}

TEST(Guidance, ScaleOneSkipsTheUnconditionalPass) {
  EXPECT_FALSE(rs::needs_unconditional_pass(1.0));
  EXPECT_TRUE(rs::needs_unconditional_pass(5.0));
  EXPECT_TRUE(rs::needs_unconditional_pass(0.0));
  const at::Tensor cond = rs::make_noise({4, 4}, 3);
  EXPECT_TRUE(at::equal(rs::apply_guidance(cond, at::Tensor(), 1.0), cond));  // no uncond needed
}

TEST(Guidance, ComputesInFloat32) {
  const at::Tensor cond = rs::make_noise({64}, 4, at::kBFloat16);
  const at::Tensor uncond = rs::make_noise({64}, 5, at::kBFloat16);
  const at::Tensor guided = rs::apply_guidance(cond, uncond, 6.0);
  EXPECT_EQ(guided.scalar_type(), at::kFloat);
  const at::Tensor c = cond.to(at::kFloat), u = uncond.to(at::kFloat);
  EXPECT_TRUE(at::allclose(guided, u + 6.0 * (c - u), 1e-6, 1e-6));
}

TEST(Guidance, RejectsBadInputs) {
  const at::Tensor cond = rs::make_noise({4, 4}, 3);
  EXPECT_THROW(rs::apply_guidance(cond, at::Tensor(), 5.0), Error);
  EXPECT_THROW(rs::apply_guidance(cond, rs::make_noise({4, 5}, 3), 5.0), Error);
  EXPECT_THROW(rs::apply_guidance(cond, cond, std::nan("")), Error);
  EXPECT_THROW(rs::apply_guidance(at::Tensor(), cond, 5.0), Error);
}

// The constant must survive as the exact UTF-8 text: 137 characters, 27 full-width commas.
TEST(Guidance, DefaultNegativePromptIsWansText) {
  const std::string_view text = rs::kWanDefaultNegativePrompt;
  size_t code_points = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : 4;
    ASSERT_LE(i + length, text.size()) << "truncated UTF-8 sequence";
    for (size_t k = 1; k < length; ++k) {
      ASSERT_EQ(static_cast<unsigned char>(text[i + k]) >> 6, 0x2) << "bad UTF-8 at " << i;
    }
    i += length;
    ++code_points;
  }
  EXPECT_EQ(code_points, 137u);
  size_t commas = 0;
  for (size_t pos = text.find("，"); pos != std::string_view::npos;
       pos = text.find("，", pos + 1)) {
    ++commas;
  }
  EXPECT_EQ(commas, 27u);
  EXPECT_EQ(text.substr(0, 12), "色调艳丽");
  EXPECT_NE(text.find("JPEG压缩残留"), std::string_view::npos);
}

TEST(Noise, SameSeedSameBits) {
  const at::Tensor a = rs::make_noise({2, 16, 3, 8, 8}, 42);
  at::manual_seed(7);  // the global generator plays no part
  const at::Tensor b = rs::make_noise({2, 16, 3, 8, 8}, 42);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 16, 3, 8, 8}));
}

TEST(Noise, DifferentSeedsDiffer) {
  const at::Tensor a = rs::make_noise({1000}, 42);
  const at::Tensor b = rs::make_noise({1000}, 43);
  EXPECT_FALSE(at::equal(a, b));
  EXPECT_LT((a * b).mean().abs().item<double>(), 0.15);  // uncorrelated, not shifted copies
}

TEST(Noise, IsStandardNormal) {
  const at::Tensor n = rs::make_noise({200000}, 1);
  EXPECT_NEAR(n.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(n.std().item<double>(), 1.0, 0.01);
}

TEST(Noise, OtherDtypesAreTheFloat32DrawCast) {
  const at::Tensor f32 = rs::make_noise({3, 50}, 9);
  const at::Tensor bf16 = rs::make_noise({3, 50}, 9, at::kBFloat16);
  EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(bf16, f32.to(at::kBFloat16)));
}

TEST(Noise, CudaStartsFromTheCpuNoise) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const at::Tensor cpu = rs::make_noise({4, 33}, 5);
  const at::Tensor cuda = rs::make_noise({4, 33}, 5, at::kFloat, at::Device(at::kCUDA));
  EXPECT_TRUE(cuda.is_cuda());
  EXPECT_TRUE(at::equal(cuda.cpu(), cpu));
}

TEST(Noise, RejectsBadRequests) {
  try {
    rs::make_noise({2, -1}, 1);
    ADD_FAILURE() << "negative size accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
  }
  EXPECT_THROW(rs::make_noise({2}, 1, at::kInt), Error);
}
