// Wan DiT checkpoint key layouts: the fixture's weights renamed the way ComfyUI (prefixed, fp8
// "scaled") and diffusers name them, written to real safetensors files, must load into the same
// model; broken checkpoints must fail with errors that name the keys.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <regex>

#include "reelforge/core/error.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "wan_dit_testing.hpp"

namespace reelforge {
namespace {

using models::WanDiT;
using models::WanDiTLayout;
using testing::max_abs_diff;

// Official -> diffusers names, written from the diffusers conversion table independently of the
// loader's own mapping (which goes the other way).
std::string to_diffusers(const std::string& name) {
  static const std::vector<std::pair<std::regex, std::string>> kRules = {
      {std::regex(R"(^text_embedding\.0\.)"), "condition_embedder.text_embedder.linear_1."},
      {std::regex(R"(^text_embedding\.2\.)"), "condition_embedder.text_embedder.linear_2."},
      {std::regex(R"(^time_embedding\.0\.)"), "condition_embedder.time_embedder.linear_1."},
      {std::regex(R"(^time_embedding\.2\.)"), "condition_embedder.time_embedder.linear_2."},
      {std::regex(R"(^time_projection\.1\.)"), "condition_embedder.time_proj."},
      {std::regex(R"(^head\.head\.)"), "proj_out."},
      {std::regex(R"(^head\.modulation$)"), "scale_shift_table"},
      {std::regex(R"(^(blocks\.\d+)\.self_attn\.([qkv])\.)"), "$1.attn1.to_$2."},
      {std::regex(R"(^(blocks\.\d+)\.self_attn\.o\.)"), "$1.attn1.to_out.0."},
      {std::regex(R"(^(blocks\.\d+)\.self_attn\.norm_)"), "$1.attn1.norm_"},
      {std::regex(R"(^(blocks\.\d+)\.cross_attn\.([qkv])\.)"), "$1.attn2.to_$2."},
      {std::regex(R"(^(blocks\.\d+)\.cross_attn\.o\.)"), "$1.attn2.to_out.0."},
      {std::regex(R"(^(blocks\.\d+)\.cross_attn\.norm_)"), "$1.attn2.norm_"},
      {std::regex(R"(^(blocks\.\d+)\.norm3\.)"), "$1.norm2."},
      {std::regex(R"(^(blocks\.\d+)\.ffn\.0\.)"), "$1.ffn.net.0.proj."},
      {std::regex(R"(^(blocks\.\d+)\.ffn\.2\.)"), "$1.ffn.net.2."},
      {std::regex(R"(^(blocks\.\d+)\.modulation$)"), "$1.scale_shift_table"},
  };
  for (const auto& [pattern, replacement] : kRules) {
    if (std::regex_search(name, pattern)) return std::regex_replace(name, pattern, replacement);
  }
  return name;  // patch_embedding.*
}

class WanDiTLayouts : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::wan_fixture("dit_t2v_tiny.safetensors");
    if (path.empty()) {
      if (testing::running_in_ci()) FAIL() << "fixture dit_t2v_tiny.safetensors missing in CI";
      GTEST_SKIP() << "golden fixture wan/dit_t2v_tiny.safetensors not found";
    }
    fixture_ = std::make_unique<tensors::Checkpoint>(tensors::Checkpoint::open(path));
    weights_ = testing::fixture_weights(*fixture_);
    reference_ = run(WanDiT::load(*fixture_, testing::fixture_load_options()));
  }

  // The fixture's t2v call; checks the result against the stored outputs too.
  std::vector<at::Tensor> run(const WanDiT& model) {
    const auto& f = *fixture_;
    auto out = model.forward({f.load("input.x_0"), f.load("input.x_1")}, f.load("input.t"),
                             {f.load("input.context_0"), f.load("input.context_1")}, 50);
    EXPECT_TRUE(testing::close_by_rule(out[0], f.load("output.out_0")));
    EXPECT_TRUE(testing::close_by_rule(out[1], f.load("output.out_1")));
    return out;
  }

  // Writes `tensors` to a file in the temp dir and loads it as a DiT.
  WanDiT load_written(const tensors::NamedTensors& tensors,
                      models::WanDiTLoadOptions options = {}) {
    const auto path = dir_ / ("dit" + std::to_string(counter_++) + ".safetensors");
    tensors::save_safetensors(path, tensors);
    checkpoints_.push_back(std::make_unique<tensors::Checkpoint>(tensors::Checkpoint::open(path)));
    options.device = Device::CPU;
    options.dtype = ComputeDType::Float32;
    options.hints.num_heads = 4;
    options.hints.text_len = 16;
    return WanDiT::load(*checkpoints_.back(), options);
  }

  void expect_same_as_reference(const WanDiT& model) {
    const auto out = run(model);
    EXPECT_EQ(max_abs_diff(out[0], reference_[0]), 0.0);
    EXPECT_EQ(max_abs_diff(out[1], reference_[1]), 0.0);
  }

  std::string format_error(const tensors::NamedTensors& tensors) {
    try {
      load_written(tensors);
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::Format) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loading did not fail";
    return {};
  }

  testing::TempDir dir_;
  int counter_ = 0;
  std::unique_ptr<tensors::Checkpoint> fixture_;
  std::vector<std::unique_ptr<tensors::Checkpoint>> checkpoints_;
  tensors::NamedTensors weights_;
  std::vector<at::Tensor> reference_;
};

// The one spelling of "blocks.N.<member>": built, split back, and anything else is not a block's.
TEST(WanBlockWeightName, BuildsAndSplitsBlocksNMember) {
  EXPECT_EQ(models::wan_block_weight_name(3, "ffn.0.weight"), "blocks.3.ffn.0.weight");
  EXPECT_EQ(models::wan_block_weight_name(12, ""), "blocks.12.");
  const auto w = models::split_wan_block_weight_name("blocks.27.self_attn.norm_q.weight");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->block, 27);
  EXPECT_EQ(w->member, "self_attn.norm_q.weight");
  for (const char* other :
       {"head.head.weight", "blocks.", "blocks.3", "blocks.3.", "blocks..x",
        "blocks.x.ffn.0.weight", "blocks.1234567.ffn", "xblocks.1.ffn", "blocks.-1.ffn"}) {
    EXPECT_FALSE(models::split_wan_block_weight_name(other).has_value()) << other;
  }
}

TEST_F(WanDiTLayouts, OfficialNames) {
  expect_same_as_reference(load_written(weights_));
  std::vector<std::string> names;
  for (const auto& [n, t] : weights_) names.push_back(n);
  const auto keys = models::WanDiTKeyMap::detect(names);
  EXPECT_EQ(keys.layout, WanDiTLayout::Official);
  EXPECT_EQ(keys.prefix, "");
}

TEST_F(WanDiTLayouts, ComfyUIPrefixWithOtherComponents) {
  tensors::NamedTensors renamed;
  for (const auto& [n, t] : weights_) renamed.emplace_back("model.diffusion_model." + n, t);
  // A bundled checkpoint also carries the VAE and text encoder: not the DiT's business.
  renamed.emplace_back("first_stage_model.decoder.conv1.weight", at::ones({2, 2}));
  renamed.emplace_back("text_encoders.umt5.shared.weight", at::ones({3}));
  expect_same_as_reference(load_written(renamed));
  std::vector<std::string> names;
  for (const auto& [n, t] : renamed) names.push_back(n);
  const auto keys = models::WanDiTKeyMap::detect(names);
  EXPECT_EQ(keys.layout, WanDiTLayout::ComfyUI);
  EXPECT_EQ(keys.prefix, "model.diffusion_model.");
}

TEST_F(WanDiTLayouts, ComfyUIScaledWeights) {
  // fp8 "scaled" files store weight / scale and a per-tensor scale_weight; the loader multiplies
  // them back. Scales are powers of two, so the product is exact in float32.
  tensors::NamedTensors renamed;
  int i = 0;
  for (const auto& [n, t] : weights_) {
    const bool matrix = t.dim() == 2 && n.find("embedding") == std::string::npos;
    if (!matrix) {
      renamed.emplace_back(n, t);
      continue;
    }
    const float scale = (i++ % 2) ? 4.0f : 0.5f;
    const std::string base = n.substr(0, n.size() - std::string("weight").size());
    renamed.emplace_back(n, t / scale);
    renamed.emplace_back(base + "scale_weight", at::full({1}, scale));
    renamed.emplace_back(base + "scale_input", at::full({1}, 123.0f));
  }
  renamed.emplace_back("scaled_fp8", at::zeros({2}));
  expect_same_as_reference(load_written(renamed));
  std::vector<std::string> names;
  for (const auto& [n, t] : renamed) names.push_back(n);
  const auto keys = models::WanDiTKeyMap::detect(names);
  EXPECT_EQ(keys.layout, WanDiTLayout::ComfyUI);
  EXPECT_TRUE(keys.fp8_scaled);
  EXPECT_EQ(keys.weight_scales.at("blocks.1.ffn.2.weight"), "blocks.1.ffn.2.scale_weight");
}

TEST_F(WanDiTLayouts, DiffusersNames) {
  tensors::NamedTensors renamed;
  for (const auto& [n, t] : weights_) renamed.emplace_back(to_diffusers(n), t);
  ASSERT_EQ(to_diffusers("blocks.1.norm3.weight"), "blocks.1.norm2.weight");
  expect_same_as_reference(load_written(renamed));
  std::vector<std::string> names;
  for (const auto& [n, t] : renamed) names.push_back(n);
  EXPECT_EQ(models::WanDiTKeyMap::detect(names).layout, WanDiTLayout::Diffusers);
}

TEST_F(WanDiTLayouts, BFloat16StoredWeightsAreConverted) {
  tensors::NamedTensors stored;
  for (const auto& [n, t] : weights_) stored.emplace_back(n, t.to(at::kBFloat16));
  const WanDiT model = load_written(stored);
  const auto& f = *fixture_;
  const auto out = model.forward({f.load("input.x_0")}, f.load("input.t").narrow(0, 0, 1),
                                 {f.load("input.context_0")}, 48);
  EXPECT_EQ(out[0].scalar_type(), at::kFloat);
  EXPECT_TRUE(testing::close_by_rule(out[0], f.load("output.out_0"), 5e-2));
}

TEST_F(WanDiTLayouts, MissingUnexpectedAndMisshapenKeys) {
  tensors::NamedTensors missing;
  for (const auto& [n, t] : weights_) {
    if (n != "blocks.1.cross_attn.v.bias") missing.emplace_back(n, t);
  }
  EXPECT_NE(format_error(missing).find("missing 1: blocks.1.cross_attn.v.bias"), std::string::npos);

  tensors::NamedTensors extra = weights_;
  extra.emplace_back("blocks.0.mystery.weight", at::ones({3}));
  EXPECT_NE(format_error(extra).find("unexpected 1: blocks.0.mystery.weight"), std::string::npos);

  tensors::NamedTensors misshapen;
  for (const auto& [n, t] : weights_) {
    misshapen.emplace_back(n, n == "blocks.0.self_attn.o.weight" ? at::zeros({64, 63}) : t);
  }
  EXPECT_NE(format_error(misshapen).find(
                "'blocks.0.self_attn.o.weight' has shape [64, 63]; expected [64, 64]"),
            std::string::npos);

  // Not a DiT at all.
  const std::string none = format_error({{"encoder.conv1.weight", at::ones({2})}});
  EXPECT_NE(none.find("no Wan DiT weights found"), std::string::npos) << none;

  // A Wan 2.1 I2V checkpoint (CLIP image cross-attention) is recognised and refused clearly.
  tensors::NamedTensors i2v = weights_;
  i2v.emplace_back("img_emb.proj.1.weight", at::ones({64, 32}));
  try {
    load_written(i2v);
    ADD_FAILURE() << "loading did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
  }
}

TEST_F(WanDiTLayouts, RandomModelRoundTrip) {
  // A random model saved under its official names loads back into the same forward: random()
  // and load() fill the same parameter slots, and named_parameters() names them correctly.
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  tensors::NamedTensors saved;
  for (const auto& [name, t] : model.named_parameters()) saved.emplace_back(name, t.contiguous());
  ASSERT_EQ(saved.size(), weights_.size());
  const WanDiT loaded = load_written(saved);
  EXPECT_EQ(loaded.parameter_count(), model.parameter_count());
  const at::Tensor x = at::randn({16, 2, 4, 6}), ctx = at::randn({5, 32});
  const auto a = model.forward({x}, at::tensor({321.0f}), {ctx}, 12);
  const auto b = loaded.forward({x}, at::tensor({321.0f}), {ctx}, 12);
  EXPECT_EQ(max_abs_diff(a[0], b[0]), 0.0);
}

}  // namespace
}  // namespace reelforge
