// Wan DiT against the golden fixtures (end to end and intermediates) and its invariants: RoPE,
// attention masking and chunking, padding, per-token timesteps, size errors.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/fixtures/fixture_runner.hpp"
#include "reelforge/models/attention.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "wan_dit_testing.hpp"

namespace reelforge {
namespace {

using models::WanDiT;
using testing::close_by_rule;
using testing::max_abs_diff;

fixtures::Outputs run_fixture(const tensors::Checkpoint& file) {
  const auto& md = file.metadata();
  const fixtures::FixtureContext ctx{file, md.at("source"), nlohmann::json::parse(md.at("config")),
                                     nlohmann::json::parse(md.at("call"))};
  return fixtures::run_dit_fixture(ctx);
}

void expect_outputs_match(const tensors::Checkpoint& file) {
  const fixtures::Outputs outputs = run_fixture(file);
  size_t expected_count = 0;
  for (const auto& name : file.names()) {
    if (name.rfind("output.", 0) != 0) continue;
    ++expected_count;
    const std::string key = name.substr(7);
    ASSERT_TRUE(outputs.count(key)) << "runner did not produce " << key;
    const at::Tensor expected = file.load(name);
    EXPECT_TRUE(close_by_rule(outputs.at(key), expected)) << key;
    std::printf("  %s: max abs diff %.3g, max |expected| %.3g\n", key.c_str(),
                max_abs_diff(outputs.at(key), expected), testing::max_abs(expected));
  }
  EXPECT_EQ(outputs.size(), expected_count);
}

TEST(WanDiTFixture, T2VEndToEnd) {
  RF_OPEN_WAN_FIXTURE(file, "dit_t2v_tiny.safetensors");
  expect_outputs_match(file);
}

TEST(WanDiTFixture, TI2VEndToEnd) {
  RF_OPEN_WAN_FIXTURE(file, "dit_ti2v_tiny.safetensors");
  expect_outputs_match(file);
}

TEST(WanDiTFixture, ConfigInferredFromWeights) {
  RF_OPEN_WAN_FIXTURE(file, "dit_ti2v_tiny.safetensors");
  models::WanDiTHints hints;
  hints.num_heads = 4;
  const auto c = models::WanDiTConfig::from_weights(file, hints);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.ffn_dim, 128);
  EXPECT_EQ(c.in_dim, 48);
  EXPECT_EQ(c.out_dim, 48);
  EXPECT_EQ(c.freq_dim, 256);
  EXPECT_EQ(c.text_dim, 32);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.patch_size, (std::array<int64_t, 3>{1, 2, 2}));
  EXPECT_EQ(c.model_type, models::WanModelType::TI2V);  // in_dim 48 without a hint
  // dim 64 is not a multiple of head_dim 128: the head count must be given.
  try {
    models::WanDiTConfig::from_weights(file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("num_heads"), std::string::npos) << e.what();
  }
  // Parameter count = every weight in the file.
  const WanDiT model = WanDiT::load(file, testing::fixture_load_options());
  int64_t stored = 0;
  for (const auto& [name, t] : testing::fixture_weights(file)) stored += t.numel();
  EXPECT_EQ(model.parameter_count(), stored);
  EXPECT_EQ(model.weight_bytes(), stored * 4);
}

// Intermediates of the t2v call: every debug tensor the reference recorded, over the rows the
// port computes (the longest sample's 48 tokens; the reference padded to seq_len 50).
TEST(WanDiTFixture, T2VIntermediates) {
  RF_OPEN_WAN_FIXTURE(file, "dit_t2v_tiny.safetensors");
  const WanDiT model = WanDiT::load(file, testing::fixture_load_options());
  const at::Tensor t = file.load("input.t");
  EXPECT_TRUE(
      close_by_rule(WanDiT::sinusoidal_embedding(t, 256), file.load("debug.t_sinusoid"), 1e-6));
  std::map<std::string, at::Tensor> seen;
  models::WanDiTForwardOptions options;
  options.trace = [&](const std::string& name, const at::Tensor& v) { seen[name] = v.clone(); };
  model.forward({file.load("input.x_0"), file.load("input.x_1")}, t,
                {file.load("input.context_0"), file.load("input.context_1")},
                file.load("input.seq_len").item<int64_t>(), options);
  EXPECT_TRUE(close_by_rule(seen.at("e").squeeze(1), file.load("debug.e")));
  EXPECT_TRUE(close_by_rule(seen.at("e0").squeeze(1), file.load("debug.e0")));
  EXPECT_TRUE(close_by_rule(seen.at("context_embedded"), file.load("debug.context_embedded")));
  for (const std::string name : {"x_embedded", "block0_self_attn_out", "block0_cross_attn_out",
                                 "block0_out", "block1_out", "head_out"}) {
    const at::Tensor ours = seen.at(name);
    ASSERT_EQ(ours.size(1), 48) << name;
    EXPECT_TRUE(close_by_rule(ours, file.load("debug." + name).narrow(1, 0, 48))) << name;
  }
}

TEST(WanDiTFixture, TI2VIntermediates) {
  RF_OPEN_WAN_FIXTURE(file, "dit_ti2v_tiny.safetensors");
  const WanDiT model = WanDiT::load(file, testing::fixture_load_options());
  std::map<std::string, at::Tensor> seen;
  models::WanDiTForwardOptions options;
  options.trace = [&](const std::string& name, const at::Tensor& v) { seen[name] = v.clone(); };
  const auto out = model.forward({file.load("input.i2v.x")}, file.load("input.i2v.t"),
                                 {file.load("input.context")},
                                 file.load("input.i2v.seq_len").item<int64_t>(), options);
  for (const std::string name : {"e", "e0", "x_embedded", "block0_out", "block1_out", "head_out"}) {
    EXPECT_TRUE(close_by_rule(seen.at(name), file.load("debug.i2v." + name))) << name;
  }
  EXPECT_TRUE(close_by_rule(out[0], file.load("output.i2v.out")));
  // The per-token timesteps matter: the same call with one timestep for all tokens differs.
  const at::Tensor t_all = at::full({1}, file.load("input.i2v.t_scalar").item<double>());
  const auto uniform =
      model.forward({file.load("input.i2v.x")}, t_all, {file.load("input.context")}, 36);
  EXPECT_GT(max_abs_diff(uniform[0], out[0]), 1e-3);
}

TEST(WanDiTFixture, BFloat16IsCloseToFloat32) {
  RF_OPEN_WAN_FIXTURE(file, "dit_t2v_tiny.safetensors");
  auto options = testing::fixture_load_options();
  options.dtype = ComputeDType::BFloat16;
  const WanDiT model = WanDiT::load(file, options);
  EXPECT_EQ(model.compute_dtype(), at::kBFloat16);
  const auto out =
      model.forward({file.load("input.x_0"), file.load("input.x_1")}, file.load("input.t"),
                    {file.load("input.context_0"), file.load("input.context_1")}, 50);
  EXPECT_EQ(out[0].scalar_type(), at::kFloat);
  EXPECT_TRUE(close_by_rule(out[0], file.load("output.out_0"), 5e-2));
  EXPECT_TRUE(close_by_rule(out[1], file.load("output.out_1"), 5e-2));
}

// ---- RoPE ---------------------------------------------------------------------------------------

TEST(WanDiTRoPE, TableMatchesReference) {
  RF_OPEN_WAN_FIXTURE(file, "dit_t2v_tiny.safetensors");
  const at::Tensor expected = file.load("debug.rope_freqs");  // [64, 8, 2] float64
  const at::Tensor table = WanDiT::rope_table(16);
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{1024, 8, 2}));
  EXPECT_EQ(table.scalar_type(), at::kDouble);
  EXPECT_LT(max_abs_diff(table.narrow(0, 0, 64), expected), 1e-12);
}

TEST(WanDiTRoPE, AxisSplitForRealHeadDim) {
  // head_dim 128: 64 pairs split 22 (frame) / 21 (height) / 21 (width); each axis restarts its
  // frequencies at 1, so columns 0, 22 and 43 rotate by exactly the position.
  const at::Tensor table = WanDiT::rope_table(128);
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{1024, 64, 2}));
  for (int64_t col : {0, 22, 43}) {
    EXPECT_NEAR(table[5][col][0].item<double>(), std::cos(5.0), 1e-15) << col;
    EXPECT_NEAR(table[5][col][1].item<double>(), std::sin(5.0), 1e-15) << col;
  }
  // Column 1 of the frame axis: 10000^(-2/44); of the height axis (column 23): 10000^(-2/42).
  EXPECT_NEAR(table[1][1][1].item<double>(), std::sin(std::pow(10000.0, -2.0 / 44)), 1e-15);
  EXPECT_NEAR(table[1][23][1].item<double>(), std::sin(std::pow(10000.0, -2.0 / 42)), 1e-15);
}

TEST(WanDiTRoPE, RotationProperties) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();  // head_dim 16
  at::manual_seed(3);
  // Grid 4 x 3 x 5 plus 6 padding rows.
  const at::Tensor cs = model.rope_cos_sin({{4, 3, 5}}, 66);  // [1, 66, 1, 8, 2]
  const at::Tensor x = at::randn({1, 66, 4, 16});
  const at::Tensor y = WanDiT::apply_rope(x, cs);
  // Norm of every adjacent pair is kept; position (0, 0, 0) and padding rows are untouched.
  const auto pair_norm = [](const at::Tensor& t) { return t.view({1, 66, 4, 8, 2}).norm(2, -1); };
  EXPECT_LT(max_abs_diff(pair_norm(y), pair_norm(x)), 1e-5);
  EXPECT_LT(max_abs_diff(y.narrow(1, 0, 1), x.narrow(1, 0, 1)), 1e-7);
  EXPECT_LT(max_abs_diff(y.narrow(1, 60, 6), x.narrow(1, 60, 6)), 1e-7);
  // Token (f, h, w) = (1, 0, 0) is row 15: the frame columns rotate, height/width do not.
  EXPECT_GT(max_abs_diff(y.narrow(1, 15, 1).narrow(3, 0, 8), x.narrow(1, 15, 1).narrow(3, 0, 8)),
            1e-3);
  EXPECT_LT(max_abs_diff(y.narrow(1, 15, 1).narrow(3, 8, 8), x.narrow(1, 15, 1).narrow(3, 8, 8)),
            1e-7);
  // Relative positions: the same q, k at positions (i, j) and (i+1, j+1) on any axis give the
  // same dot product.
  const at::Tensor q = at::randn({16}), k = at::randn({16});
  const at::Tensor qs = WanDiT::apply_rope(q.expand({1, 66, 1, 16}).contiguous(), cs);
  const at::Tensor ks = WanDiT::apply_rope(k.expand({1, 66, 1, 16}).contiguous(), cs);
  const auto dot = [&](int64_t i, int64_t j) {
    return (qs[0][i][0] * ks[0][j][0]).sum().item<double>();
  };
  const auto row = [](int64_t f, int64_t h, int64_t w) { return (f * 3 + h) * 5 + w; };
  EXPECT_NEAR(dot(row(0, 0, 1), row(2, 1, 3)), dot(row(1, 1, 2), row(3, 2, 4)), 1e-4);
  EXPECT_NEAR(dot(row(3, 2, 0), row(0, 0, 4)), dot(row(3, 2, 0), row(0, 0, 4)), 0.0);
  EXPECT_NEAR(dot(row(2, 0, 4), row(1, 1, 0)), dot(row(3, 1, 4), row(2, 2, 0)), 1e-4);
}

// ---- attention ----------------------------------------------------------------------------------

at::Tensor naive_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const std::vector<int64_t>& lengths) {
  const at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  at::Tensor s = at::matmul(qd, kd.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
  for (size_t b = 0; b < lengths.size(); ++b) {
    s[int64_t(b)].narrow(-1, lengths[b], k.size(2) - lengths[b]).fill_(-INFINITY);
  }
  return at::matmul(at::softmax(s, -1), vd);
}

TEST(Attention, ChunkedEqualsUnchunkedAndReference) {
  c10::InferenceMode guard;
  at::manual_seed(11);
  const at::Tensor q = at::randn({2, 3, 37, 16}), k = at::randn({2, 3, 37, 16}),
                   v = at::randn({2, 3, 37, 16});
  const std::vector<int64_t> lengths{37, 20};
  models::AttentionOptions whole;
  whole.backend = models::AttentionBackend::Chunked;
  models::AttentionOptions chunked = whole;
  chunked.query_chunk = 5;  // 8 chunks, the last one short
  const at::Tensor a = models::attention(q, k, v, lengths, {}, whole);
  const at::Tensor b = models::attention(q, k, v, lengths, {}, chunked);
  EXPECT_LT(max_abs_diff(a, b), 1e-6);
  EXPECT_LT(max_abs_diff(a, naive_attention(q, k, v, lengths)), 1e-5);
  const at::Tensor c = models::attention(q, k, v, lengths);  // Auto backend
  EXPECT_LT(max_abs_diff(a, c), 1e-5);
}

TEST(Attention, MaskedKeysHaveNoEffect) {
  c10::InferenceMode guard;
  at::manual_seed(12);
  const at::Tensor q = at::randn({1, 2, 9, 8});
  at::Tensor k = at::randn({1, 2, 12, 8}), v = at::randn({1, 2, 12, 8});
  const at::Tensor before = models::attention(q, k, v, {7});
  k.narrow(2, 7, 5).normal_(0, 100);
  v.narrow(2, 7, 5).normal_(0, 100);
  EXPECT_LT(max_abs_diff(before, models::attention(q, k, v, {7})), 1e-6);
  EXPECT_GT(max_abs_diff(before, models::attention(q, k, v, {12})), 1e-2);
}

TEST(Attention, BiasAndScale) {
  c10::InferenceMode guard;
  at::manual_seed(13);
  const at::Tensor q = at::randn({1, 2, 6, 4}), k = at::randn({1, 2, 6, 4}),
                   v = at::randn({1, 2, 6, 4});
  const at::Tensor bias = at::randn({1, 2, 6, 6});
  models::AttentionOptions o;
  o.scale = 1.0;
  o.query_chunk = 4;
  o.backend = models::AttentionBackend::Chunked;
  const at::Tensor expected =
      at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) + bias, -1), v);
  EXPECT_LT(max_abs_diff(models::attention(q, k, v, {}, bias, o), expected), 1e-6);
}

// ---- model invariants (random tiny model, no fixture needed) -----------------------------------

TEST(WanDiT, BatchWithPaddingEqualsSingleSamples) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  at::manual_seed(21);
  const at::Tensor x0 = at::randn({16, 3, 8, 8}), x1 = at::randn({16, 2, 6, 10});  // 48, 30 tokens
  const at::Tensor c0 = at::randn({7, 32}), c1 = at::randn({16, 32});
  const at::Tensor t = at::tensor({900.0f, 37.5f});
  const auto both = model.forward({x0, x1}, t, {c0, c1}, 50);
  const auto only0 = model.forward({x0}, t.narrow(0, 0, 1), {c0}, 48);
  const auto only1 = model.forward({x1}, t.narrow(0, 1, 1), {c1}, 30);
  ASSERT_EQ(both[1].sizes(), x1.sizes());
  EXPECT_LT(max_abs_diff(both[0], only0[0]), 1e-5);
  EXPECT_LT(max_abs_diff(both[1], only1[0]), 1e-5);  // x1 was padded by 18 masked tokens
  // A larger seq_len (more padding) changes nothing.
  EXPECT_LT(max_abs_diff(model.forward({x1}, t.narrow(0, 1, 1), {c1}, 64)[0], only1[0]), 1e-6);
  // Text padding is part of the model: a shorter context is not the same as a zero-padded one
  // being ignored, but explicit zero padding to text_len equals implicit padding.
  const at::Tensor c0_padded = at::cat({c0, at::zeros({9, 32})});
  EXPECT_LT(max_abs_diff(model.forward({x0}, t.narrow(0, 0, 1), {c0_padded}, 48)[0], only0[0]),
            1e-6);
}

TEST(WanDiT, PerTokenTimestepsMatchScalarWhenUniform) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  at::manual_seed(22);
  const at::Tensor x = at::randn({16, 3, 4, 6}), ctx = at::randn({5, 32});  // 18 tokens
  const auto scalar = model.forward({x}, at::tensor({500.0f}), {ctx}, 18);
  const auto tokens = model.forward({x}, at::full({1, 20}, 500.0f), {ctx}, 20);
  EXPECT_LT(max_abs_diff(scalar[0], tokens[0]), 1e-6);
  // Frame-0 tokens at t = 0 (TI2V) change the output.
  at::Tensor t_tok = at::full({1, 18}, 500.0f);
  t_tok.narrow(1, 0, 6).zero_();
  EXPECT_GT(max_abs_diff(model.forward({x}, t_tok, {ctx}, 18)[0], scalar[0]), 1e-3);
}

TEST(WanDiT, ModulationShapes) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  auto [e, e0] = model.embed_time(at::tensor({10.0f, 700.0f}));
  EXPECT_EQ(e.sizes(), (std::vector<int64_t>{2, 1, 64}));
  EXPECT_EQ(e0.sizes(), (std::vector<int64_t>{2, 1, 6, 64}));
  auto [et, e0t] = model.embed_time(at::tensor({0.0f, 952.0f, 952.0f, 0.0f}).view({2, 2}));
  EXPECT_EQ(et.sizes(), (std::vector<int64_t>{2, 2, 64}));
  EXPECT_EQ(e0t.sizes(), (std::vector<int64_t>{2, 2, 6, 64}));
  // Per-token rows equal the per-sample embedding of the same value; int64 steps work too.
  auto [es, e0s] = model.embed_time(at::tensor({int64_t(0), int64_t(952)}));
  EXPECT_LT(max_abs_diff(et[0][1], es[1][0]), 1e-6);
  EXPECT_LT(max_abs_diff(e0t[1][0], e0s[1][0]), 1e-6);
  EXPECT_LT(max_abs_diff(e0t[1][1], e0s[0][0]), 1e-6);
  EXPECT_EQ(model.embed_text({at::randn({3, 32})}).sizes(), (std::vector<int64_t>{1, 16, 64}));
}

TEST(WanDiT, ForwardBatchEqualsForward) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  at::manual_seed(23);
  const at::Tensor x = at::randn({2, 16, 2, 4, 6}), c0 = at::randn({4, 32}),
                   c1 = at::randn({9, 32});
  const at::Tensor t = at::tensor({999.0f, 3.0f});
  const auto list = model.forward({x[0], x[1]}, t, {c0, c1}, 12);
  const at::Tensor batch = model.forward_batch(x, t, model.embed_text({c0, c1}));
  ASSERT_EQ(batch.sizes(), x.sizes());
  EXPECT_LT(max_abs_diff(batch[0], list[0]), 1e-5);
  EXPECT_LT(max_abs_diff(batch[1], list[1]), 1e-5);
  // Cross-attention keys and values made once per prompt give exactly the per-step result.
  const models::WanDiTTextKV kv = model.prepare_text({c0, c1});
  ASSERT_EQ(kv.k.size(), size_t(model.config().num_layers));
  EXPECT_EQ(kv.k[0].sizes(), (std::vector<int64_t>{2, model.config().num_heads, 16,
                                                   model.config().head_dim()}));
  EXPECT_TRUE(at::equal(model.forward_batch(x, t, kv), batch));
  models::WanDiTTextKV partial = kv;
  partial.k.pop_back();
  EXPECT_THROW(model.forward_batch(x, t, partial), Error);
}

TEST(WanDiT, ChunkedAttentionGivesSameForward) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  at::manual_seed(24);
  const at::Tensor x = at::randn({16, 3, 8, 8}), ctx = at::randn({6, 32});
  models::WanDiTForwardOptions chunked;
  chunked.attention.backend = models::AttentionBackend::Chunked;
  chunked.attention.query_chunk = 7;
  const auto a = model.forward({x}, at::tensor({250.0f}), {ctx}, 48);
  const auto b = model.forward({x}, at::tensor({250.0f}), {ctx}, 48, chunked);
  EXPECT_LT(max_abs_diff(a[0], b[0]), 1e-5);
}

TEST(WanDiT, CancellationStopsForward) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  CancellationToken token;
  token.cancel();
  models::WanDiTForwardOptions o;
  o.cancel = &token;
  try {
    model.forward({at::randn({16, 1, 4, 4})}, at::tensor({1.0f}), {at::randn({2, 32})}, 4, o);
    FAIL() << "expected Error(Cancelled)";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
}

// ---- sizes and errors ---------------------------------------------------------------------------

std::string invalid_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

TEST(LatentGeometry, FrameCounts) {
  EXPECT_EQ(models::validate_frame_count(81), 21);
  EXPECT_EQ(models::validate_frame_count(1), 1);
  EXPECT_EQ(models::validate_frame_count(17), 5);
  EXPECT_EQ(invalid_message([] { models::validate_frame_count(80); }),
            "frame count 80 is not 1 + 4k; nearest valid: 77 or 81");
  EXPECT_EQ(invalid_message([] { models::validate_frame_count(0); }),
            "frame count 0 is not 1 + 4k; smallest valid: 1");
  EXPECT_EQ(invalid_message([] { models::validate_frame_count(3); }),
            "frame count 3 is not 1 + 4k; nearest valid: 1 or 5");
}

TEST(LatentGeometry, PixelSizes) {
  models::validate_pixel_size(832, 480, 8, 2);
  models::validate_pixel_size(1280, 704, 16, 2);
  EXPECT_EQ(
      invalid_message([] { models::validate_pixel_size(1000, 480, 8, 2); }),
      "width 1000 px is not a multiple of 16 (VAE stride 8 x patch 2); nearest valid: 992 or 1008");
  EXPECT_EQ(
      invalid_message([] { models::validate_pixel_size(1280, 720, 16, 2); }),
      "height 720 px is not a multiple of 32 (VAE stride 16 x patch 2); nearest valid: 704 or 736");
  EXPECT_EQ(invalid_message([] { models::validate_pixel_size(8, 480, 8, 2); }),
            "width 8 px is not a multiple of 16 (VAE stride 8 x patch 2); smallest valid: 16");
}

TEST(WanDiT, RejectsSizesItCannotTake) {
  c10::InferenceMode guard;
  const WanDiT model = testing::tiny_random_model();
  const at::Tensor ctx = at::randn({4, 32});
  const at::Tensor t = at::tensor({1.0f});
  EXPECT_EQ(
      invalid_message([&] {
        model.forward({at::randn({16, 2, 7, 8})}, t, {ctx}, 100);
      }),
      "latent height 7 is not a positive multiple of the patch size 2; nearest valid: 6 or 8");
  EXPECT_NE(invalid_message([&] {
              model.forward({at::randn({48, 2, 8, 8})}, t, {ctx}, 100);
            }).find("expected [16, F, H, W]"),
            std::string::npos);
  EXPECT_NE(invalid_message([&] {
              model.forward({at::randn({16, 2, 8, 8})}, t, {ctx}, 20);
            }).find("seq_len 20 is smaller than the 32 tokens"),
            std::string::npos);
  EXPECT_NE(invalid_message([&] {
              model.forward({at::randn({16, 2, 8, 8})}, t, {at::randn({17, 32})}, 32);
            }).find("L <= text_len 16"),
            std::string::npos);
  EXPECT_NE(invalid_message([&] {
              model.forward({at::randn({16, 2, 8, 8})}, at::ones({1, 31}), {ctx}, 32);
            }).find("expected [1] or [1, 32]"),
            std::string::npos);
  EXPECT_NE(invalid_message([&] {
              model.forward({at::randn({16, 2, 8, 8})}, t, {ctx, ctx}, 32);
            }).find("one context per latent"),
            std::string::npos);
}

// A clean-latent output is turned into the flow velocity noise - x0 that samplers integrate; a
// velocity output is used as it is. The manifest's word reaches the config through the hints.
TEST(WanDiT, CleanPredictionsBecomeTheFlowVelocity) {
  at::manual_seed(3);
  const at::Tensor x0 = at::randn({2, 4, 2, 4, 4});
  const at::Tensor noise = at::randn({2, 4, 2, 4, 4});
  const at::Tensor sigma = at::tensor({0.3f, 0.8f}).view({2, 1, 1, 1, 1});
  const at::Tensor x = (1 - sigma) * x0 + sigma * noise;
  const at::Tensor v = models::velocity_from_output(models::WanPrediction::Clean, x0, x, sigma);
  EXPECT_LT(max_abs_diff(v, noise - x0), 1e-5);
  // An Euler step to sigma 0 with that velocity lands on the clean latent.
  EXPECT_LT(max_abs_diff(x - sigma * v, x0), 1e-5);
  EXPECT_TRUE(
      at::equal(models::velocity_from_output(models::WanPrediction::Velocity, noise - x0, x, sigma),
                noise - x0));

  EXPECT_EQ(models::parse_wan_prediction(models::to_string(models::WanPrediction::Clean)),
            models::WanPrediction::Clean);
  EXPECT_NE(
      invalid_message([] { models::parse_wan_prediction("epsilon"); }).find("velocity, clean"),
      std::string::npos);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, w] : testing::tiny_random_model().named_parameters()) {
    shapes[name] = w.sizes().vec();
  }
  models::WanDiTHints hints;
  hints.num_heads = testing::tiny_config().num_heads;
  EXPECT_EQ(models::WanDiTConfig::from_weights(shapes, hints).prediction,
            models::WanPrediction::Velocity);
  hints.prediction = models::WanPrediction::Clean;
  EXPECT_EQ(models::WanDiTConfig::from_weights(shapes, hints).prediction,
            models::WanPrediction::Clean);
}

TEST(WanDiTConfig, PresetsAndValidation) {
  const auto c = models::WanDiTConfig::preset("wan2.1-1.3b");
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(models::WanDiTConfig::preset("wan2.2-5b").head_dim(), 128);
  EXPECT_EQ(models::WanDiTConfig::preset("wan2.1-14b").head_dim(), 128);
  EXPECT_NE(invalid_message([] { models::WanDiTConfig::preset("wan9"); }).find("wan2.1-1.3b"),
            std::string::npos);
  auto bad = testing::tiny_config();
  bad.num_heads = 3;
  EXPECT_NE(invalid_message([&] { bad.validate(); }).find("not divisible"), std::string::npos);
  // 300 tokens of the 1.3B model: about 0.9 TFLOP per forward, dominated by the linear layers.
  const double flops = models::wan_dit_forward_flops(c, 300);
  EXPECT_GT(flops, 0.8e12);
  EXPECT_LT(flops, 1.0e12);
}

}  // namespace
}  // namespace reelforge
