#include "reelforge/training/umt5_trainable.hpp"

#include <c10/util/StringUtil.h>

#include <ATen/ATen.h>

#include <limits>
#include <string>
#include <vector>

#include "reelforge/core/error.hpp"

namespace reelforge::training {
namespace {

constexpr double kNormEps = 1e-6;  // T5LayerNorm's eps, as in models/umt5.cpp
// As the inference class: masked keys get float32's lowest value, so a fully masked row stays a
// uniform distribution instead of NaN.
constexpr float kMaskedLogit = std::numeric_limits<float>::lowest();

// The weight `name`, checked against the shape `config` implies, so a map from another config
// fails with the tensor's name instead of deep inside a matmul.
const at::Tensor& shaped_weight(const NamedWeights& w, const std::string& name,
                                const std::vector<int64_t>& shape) {
  const at::Tensor& t = weight(w, name);
  if (t.sizes() != at::IntArrayRef(shape)) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 weight '" + name + "' has shape " + c10::str(t.sizes()) +
                    "; the config needs " + c10::str(at::IntArrayRef(shape)),
                name);
  }
  return t;
}

// T5LayerNorm with the inference class's operation order: normalised in float32, multiplied by
// the float32 weight, then cast to `out_dtype` (its mul_out into a compute-dtype buffer).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, at::ScalarType out_dtype) {
  const at::Tensor normed = x * at::rsqrt(x.square().mean(-1, /*keepdim=*/true) + kNormEps);
  return (normed * weight).to(out_dtype);
}

}  // namespace

at::Tensor umt5_forward(const NamedWeights& w, const models::UMT5Config& config,
                        const at::Tensor& ids_in, const at::Tensor& mask_in,
                        at::ScalarType compute_dtype) {
  config.validate();
  if (compute_dtype != at::kFloat && compute_dtype != at::kBFloat16) {
    throw Error(ErrorCategory::InvalidArgument,
                std::string("umT5 training compute dtype must be Float or BFloat16; got ") +
                    c10::toString(compute_dtype));
  }
  models::check_umt5_inputs(ids_in, mask_in);
  const int64_t batch = ids_in.size(0);
  const int64_t length = ids_in.size(1);

  const auto& c = config;
  const at::Tensor& embedding =
      shaped_weight(w, "token_embedding.weight", {c.vocab, c.dim});  // [V, D]
  const c10::Device device = embedding.device();
  const at::Tensor ids = ids_in.to(device, at::kLong).contiguous();
  const at::Tensor mask = mask_in.to(device);
  {
    const int64_t lo = ids.min().item<int64_t>();
    const int64_t hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= c.vocab) {
      throw Error(ErrorCategory::InvalidArgument,
                  "umT5 token id " + std::to_string(lo < 0 ? lo : hi) +
                      " is outside the vocabulary; valid: 0.." + std::to_string(c.vocab - 1));
    }
  }

  const int64_t heads = c.num_heads;
  const int64_t hd = c.head_dim();
  const int64_t n = batch * length;
  const at::ScalarType cdt = compute_dtype;

  // Residual stream in float32; the gather reads the table in the compute dtype as the
  // inference class (whose table is stored in that dtype) does.
  at::Tensor x = at::embedding(in_dtype(embedding, cdt), ids).to(at::kFloat).view({n, c.dim});
  const at::Tensor key_masked = mask.eq(0).view({batch, 1, 1, length});  // [B, 1, 1, L]
  at::Tensor buckets;                                                    // [L*L], ids only
  {
    const at::Tensor pos = at::arange(length, at::kLong);
    const at::Tensor rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // [L, L] key - query
    buckets = models::umt5_relative_position_buckets(rel, c.num_buckets, c.max_distance)
                  .view({-1})
                  .to(device);
  }

  auto split_heads = [&](const at::Tensor& t) {  // [N, A] -> [B*H, L, C]
    return t.view({batch, length, heads, hd})
        .permute({0, 2, 1, 3})
        .contiguous()
        .view({batch * heads, length, hd});
  };

  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    const at::Tensor& norm1 = shaped_weight(w, p + "norm1.weight", {c.dim});
    const at::Tensor& wq = shaped_weight(w, p + "attn.q.weight", {c.dim_attn, c.dim});
    const at::Tensor& wk = shaped_weight(w, p + "attn.k.weight", {c.dim_attn, c.dim});
    const at::Tensor& wv = shaped_weight(w, p + "attn.v.weight", {c.dim_attn, c.dim});
    const at::Tensor& wo = shaped_weight(w, p + "attn.o.weight", {c.dim, c.dim_attn});
    const at::Tensor& pos =
        shaped_weight(w, p + "pos_embedding.embedding.weight", {c.num_buckets, heads});
    const at::Tensor& norm2 = shaped_weight(w, p + "norm2.weight", {c.dim});
    const at::Tensor& gate = shaped_weight(w, p + "ffn.gate.0.weight", {c.dim_ffn, c.dim});
    const at::Tensor& fc1 = shaped_weight(w, p + "ffn.fc1.weight", {c.dim_ffn, c.dim});
    const at::Tensor& fc2 = shaped_weight(w, p + "ffn.fc2.weight", {c.dim, c.dim_ffn});

    // Self-attention: x + o(softmax(q k^T + pos_bias + mask) v), without 1/sqrt(d).
    const at::Tensor h = rms_norm(x, norm1, cdt);                         // [N, D]
    const at::Tensor qh = split_heads(at::mm(h, in_dtype(wq, cdt).t()));  // [B*H, L, C]
    const at::Tensor kh = split_heads(at::mm(h, in_dtype(wk, cdt).t()));
    const at::Tensor vh = split_heads(at::mm(h, in_dtype(wv, cdt).t()));
    const at::Tensor logits_c = at::bmm(qh, kh.transpose(1, 2));              // [B*H, L, L]
    const at::Tensor bias = at::index_select(pos.to(at::kFloat), 0, buckets)  // [L*L, H]
                                .view({length, length, heads})
                                .permute({2, 0, 1});  // [H, L, L]
    const at::Tensor logits = (logits_c.to(at::kFloat).view({batch, heads, length, length}) + bias)
                                  .masked_fill(key_masked, kMaskedLogit);  // [B, H, L, L]
    const at::Tensor probs =
        at::_softmax(logits.view({batch * heads, length, length}), -1, false);  // float32
    const at::Tensor ctx_h = at::bmm(probs.to(cdt), vh);                        // [B*H, L, C]
    const at::Tensor ctx = ctx_h.view({batch, heads, length, hd})
                               .permute({0, 2, 1, 3})
                               .contiguous()
                               .view({n, c.dim_attn});  // [N, A]
    x = x + at::mm(ctx, in_dtype(wo, cdt).t());

    // Gated FFN: x + fc2(fc1(h) * gelu_tanh(gate(h))).
    const at::Tensor h2 = rms_norm(x, norm2, cdt);
    const at::Tensor a = at::mm(h2, in_dtype(fc1, cdt).t());                     // [N, F]
    const at::Tensor g = at::gelu(at::mm(h2, in_dtype(gate, cdt).t()), "tanh");  // [N, F]
    x = x + at::mm(a * g, in_dtype(fc2, cdt).t());
  }
  const at::Tensor& final_norm = shaped_weight(w, "norm.weight", {c.dim});
  return rms_norm(x, final_norm, at::kFloat).view({batch, length, c.dim});  // [B, L, D]
}

}  // namespace reelforge::training
