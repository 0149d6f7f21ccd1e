// umT5 training twin: parity with UMT5Encoder::forward on the same weights (float32 and bf16),
// gradients reaching every weight the input touches, and input checks.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/models/umt5.hpp"
#include "reelforge/training/umt5_trainable.hpp"
#include "reelforge/training/weights.hpp"

using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::models::UMT5Config;
using reelforge::models::UMT5Encoder;
using reelforge::models::UMT5LoadOptions;
using reelforge::training::NamedWeights;
using reelforge::training::trainable_copy;
using reelforge::training::umt5_forward;

namespace {

UMT5Config small_config() {
  UMT5Config c;
  c.vocab = 300;
  c.dim = 32;
  c.dim_attn = 32;
  c.dim_ffn = 64;
  c.num_heads = 2;
  c.num_layers = 2;
  return c;
}

// Two prompts of 7 positions, the second padded after 4 tokens.
struct Batch {
  at::Tensor ids;   // [2, 7] int64
  at::Tensor mask;  // [2, 7] int64
};
Batch padded_batch() {
  Batch b;
  b.ids = at::tensor({5, 17, 250, 3, 99, 1, 42, 7, 8, 299, 1, 0, 0, 0}, at::kLong).view({2, 7});
  b.mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).view({2, 7});
  return b;
}

double max_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

std::string sci(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

}  // namespace

TEST(Umt5Trainable, MatchesInferenceInFloat32) {
  const UMT5Encoder enc = UMT5Encoder::random(small_config(), UMT5LoadOptions{}, 11);
  const NamedWeights w = trainable_copy(enc.named_parameters());
  const Batch b = padded_batch();
  const at::Tensor ref = enc.forward(b.ids, b.mask);
  const at::Tensor out = umt5_forward(w, enc.config(), b.ids, b.mask, at::kFloat);
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_TRUE(out.requires_grad());
  const double diff = max_rel_diff(out.detach(), ref);
  RecordProperty("max_rel_diff", sci(diff));
  EXPECT_LE(diff, 1e-5) << "max relative difference " << diff;
}

TEST(Umt5Trainable, GradientsReachEveryTouchedWeight) {
  const UMT5Encoder enc = UMT5Encoder::random(small_config(), UMT5LoadOptions{}, 12);
  const NamedWeights w = trainable_copy(enc.named_parameters());
  const Batch b = padded_batch();
  const at::Tensor out = umt5_forward(w, enc.config(), b.ids, b.mask, at::kFloat);
  // A loss that depends on every position and channel non-trivially.
  const at::Tensor target = at::randn(out.sizes(), at::TensorOptions().dtype(at::kFloat));
  (out - target).square().mean().backward();

  std::set<int64_t> used;
  for (int64_t i = 0; i < b.ids.numel(); ++i) used.insert(b.ids.view({-1})[i].item<int64_t>());
  ASSERT_EQ(w.size(), enc.named_parameters().size());
  for (const auto& [name, t] : w) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(t.grad().defined());
    const at::Tensor g = t.grad();
    EXPECT_EQ(g.sizes(), t.sizes());
    EXPECT_TRUE(at::isfinite(g).all().item<bool>());
    if (name == "token_embedding.weight") {
      for (int64_t id = 0; id < g.size(0); ++id) {
        const bool nonzero = g[id].abs().sum().item<double>() > 0.0;
        EXPECT_EQ(nonzero, used.count(id) > 0) << "token id " << id;
      }
    } else if (name.find("pos_embedding") != std::string::npos) {
      // Seven positions reach buckets of relative distances -6..6 only; those rows must learn.
      const at::Tensor pos = at::arange(7, at::kLong);
      const at::Tensor buckets =
          reelforge::models::umt5_relative_position_buckets(pos.unsqueeze(0) - pos.unsqueeze(1));
      const at::Tensor rows = std::get<0>(at::_unique(buckets.view({-1})));
      EXPECT_GT(g.index_select(0, rows).abs().min().item<double>(), 0.0);
    } else {
      EXPECT_GT(g.abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(Umt5Trainable, Bf16ComputeStaysCloseToFloat32AndToTheBf16Encoder) {
  const UMT5Encoder enc = UMT5Encoder::random(small_config(), UMT5LoadOptions{}, 13);
  const NamedWeights w = trainable_copy(enc.named_parameters());
  const Batch b = padded_batch();
  const at::Tensor f32 = umt5_forward(w, enc.config(), b.ids, b.mask, at::kFloat);
  const at::Tensor bf16 = umt5_forward(w, enc.config(), b.ids, b.mask, at::kBFloat16);
  EXPECT_EQ(bf16.scalar_type(), at::kFloat);
  const double vs_f32 = max_rel_diff(bf16.detach(), f32.detach());
  RecordProperty("bf16_vs_f32", sci(vs_f32));
  EXPECT_LE(vs_f32, 0.1) << "bf16 vs float32 " << vs_f32;

  // The bf16 inference class on the same (bf16-rounded) weights does the same casts.
  UMT5LoadOptions bf16_options;
  bf16_options.dtype = at::kBFloat16;
  const UMT5Encoder enc16 = UMT5Encoder::random(small_config(), bf16_options, 13);
  const NamedWeights w16 = trainable_copy(enc16.named_parameters());
  const at::Tensor ref16 = enc16.forward(b.ids, b.mask);
  const at::Tensor out16 = umt5_forward(w16, enc16.config(), b.ids, b.mask, at::kBFloat16);
  const double vs_ref = max_rel_diff(out16.detach(), ref16);
  RecordProperty("bf16_vs_bf16_encoder", sci(vs_ref));
  EXPECT_LE(vs_ref, 1e-2) << "bf16 twin vs bf16 encoder " << vs_ref;

  // Backward through the bf16 casts reaches the float32 masters.
  out16.square().mean().backward();
  for (const auto& [name, t] : w16) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(t.grad().defined());
    EXPECT_EQ(t.grad().scalar_type(), at::kFloat);
    EXPECT_TRUE(at::isfinite(t.grad()).all().item<bool>());
  }
}

TEST(Umt5Trainable, RejectsBadInputs) {
  const UMT5Encoder enc = UMT5Encoder::random(small_config(), UMT5LoadOptions{}, 14);
  NamedWeights w = trainable_copy(enc.named_parameters());
  const Batch b = padded_batch();
  auto category = [&](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.category();
    }
    return ErrorCategory::Internal;
  };
  EXPECT_EQ(category([&] { umt5_forward(w, enc.config(), b.ids, b.mask, at::kHalf); }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(category([&] { umt5_forward(w, enc.config(), b.ids.view({-1}), b.mask, at::kFloat); }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(category([&] { umt5_forward(w, enc.config(), b.ids + 300, b.mask, at::kFloat); }),
            ErrorCategory::InvalidArgument);
  EXPECT_EQ(
      category([&] { umt5_forward(w, enc.config(), b.ids, b.mask.slice(1, 0, 3), at::kFloat); }),
      ErrorCategory::InvalidArgument);
  w.erase("blocks.1.ffn.fc2.weight");
  try {
    umt5_forward(w, enc.config(), b.ids, b.mask, at::kFloat);
    ADD_FAILURE() << "missing weight accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("blocks.1.ffn.fc2.weight"), std::string::npos) << e.message();
  }
}
