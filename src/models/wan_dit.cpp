// Wan DiT forward, following wan/modules/model.py (Wan 2.1 and 2.2) step by step. Loading and the
// config live in wan_dit_weights.cpp.

#include "reelforge/models/wan_dit.hpp"

#include <c10/util/StringUtil.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>

#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "wan_dit_impl.hpp"

namespace reelforge::models {
namespace {

using Grid = std::array<int64_t, 3>;  // token grid (F, H, W) of one sample

Error invalid(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, message);
}

// at::linear in the weight's dtype (inputs are cast; the residual stream stays float32).
at::Tensor linear(const at::Tensor& x, const WanLinear& l) {
  return at::linear(x.scalar_type() == l.weight.scalar_type() ? x : x.to(l.weight.scalar_type()),
                    l.weight, l.bias);
}

// Non-affine LayerNorm in float32 (WanLayerNorm: x.float() -> norm -> type_as; x is float32 here).
at::Tensor layer_norm(const at::Tensor& x, double eps, const at::Tensor& weight = {},
                      const at::Tensor& bias = {}) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, weight, bias, eps);
}

// WanRMSNorm over the full last dim: norm(x.float()).type_as(x) * weight. Float32 result: it is
// followed by RoPE (float32) or the matmul cast.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (!weight.defined()) return x;
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor inv = at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true).add_(eps));
  at::Tensor y = xf * inv;
  if (x.scalar_type() != at::kFloat) y = y.to(x.scalar_type()).to(at::kFloat);
  return y.mul_(weight);
}

// LN(x) * (1 + scale) + shift, the modulated norm of every block and the head.
at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale,
                    double eps) {
  return layer_norm(x, eps).mul_(scale + 1.0).add_(shift);
}

// [B, L, H * D] -> [B, H, L, D] (a view).
at::Tensor heads_first(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

// [B, H, L, D] -> [B, L, H * D].
at::Tensor heads_last(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// The per-token inputs of the blocks for a batch of samples (already patch-embedded).
struct Tokens {
  at::Tensor x;                  // [B, L, dim] float32, zero-padded to the longest sample
  std::vector<Grid> grids;       // per sample
  std::vector<int64_t> lengths;  // tokens per sample
};

// x [C, F, H, W] (or [B, C, F, H, W]) -> patches [.., L, C * pt * ph * pw] in token order
// (f, h, w), w fastest; each row is laid out (c, pt, ph, pw) like the Conv3d weight.
at::Tensor patchify(const at::Tensor& x, const std::array<int64_t, 3>& p) {
  const bool batched = x.dim() == 5;
  const at::Tensor u = batched ? x : x.unsqueeze(0);
  const int64_t b = u.size(0), c = u.size(1);
  const int64_t f = u.size(2) / p[0], h = u.size(3) / p[1], w = u.size(4) / p[2];
  at::Tensor patches = u.view({b, c, f, p[0], h, p[1], w, p[2]})
                           .permute({0, 2, 4, 6, 1, 3, 5, 7})
                           .reshape({b, f * h * w, c * p[0] * p[1] * p[2]});  // [B, L, C*pt*ph*pw]
  return batched ? patches : patches.squeeze(0);
}

// Head output rows [L, pt * ph * pw * C] (c fastest) -> [C, F * pt, H * ph, W * pw].
at::Tensor unpatchify(const at::Tensor& rows, const Grid& g, const std::array<int64_t, 3>& p,
                      int64_t c) {
  return rows.view({g[0], g[1], g[2], p[0], p[1], p[2], c})
      .permute({6, 0, 3, 1, 4, 2, 5})
      .reshape({c, g[0] * p[0], g[1] * p[1], g[2] * p[2]});  // [C, F, H, W]
}

void check_latent(const at::Tensor& x, const WanDiTConfig& c, const std::string& what) {
  if (x.dim() != 4 || x.size(0) != c.in_dim) {
    throw invalid(what + " has shape " + c10::str(x.sizes()) + "; expected [" +
                  std::to_string(c.in_dim) + ", F, H, W] (latent channels first)");
  }
  validate_latent_size(x.size(1), x.size(2), x.size(3), c.patch_size);
}

}  // namespace

// ---- embeddings ---------------------------------------------------------------------------------

at::Tensor WanDiT::sinusoidal_embedding(const at::Tensor& t, int64_t freq_dim) {
  RF_CHECK(freq_dim % 2 == 0, "freq_dim must be even");
  const int64_t half = freq_dim / 2;
  const at::Tensor position = t.reshape({-1}).to(at::kDouble);  // [N]
  // torch.pow(10000, -arange(half) / half) in float64, as sinusoidal_embedding_1d.
  const at::Tensor w =
      at::pow(10000.0, at::arange(half, position.options()).div(double(half)).neg());  // [half]
  const at::Tensor angles = at::outer(position, w);                                    // [N, half]
  return at::cat({at::cos(angles), at::sin(angles)}, 1).to(at::kFloat);  // [N, freq_dim]
}

std::pair<at::Tensor, at::Tensor> WanDiT::embed_time(const at::Tensor& t) const {
  c10::InferenceMode guard;
  const Impl& m = *impl_;
  const int64_t dim = m.config.dim;
  RF_CHECK(t.dim() == 1 || t.dim() == 2, "embed_time expects t [B] or [B, L]");
  const at::Tensor tt = t.dim() == 1 ? t.unsqueeze(1) : t;  // [B, Lt]
  const int64_t batch = tt.size(0), lt = tt.size(1);
  // Per-token timesteps take only a few values (TI2V: 0 and t); embed each value once.
  const at::Tensor flat = tt.reshape({-1}).to(at::kDouble).cpu();
  at::Tensor values, inverse;
  std::tie(values, inverse, std::ignore) =
      at::_unique2(flat, /*sorted=*/true, /*return_inverse=*/true);
  const at::Tensor features = sinusoidal_embedding(values, m.config.freq_dim).to(m.device);
  at::Tensor e = linear(at::silu(linear(features, m.time1)), m.time2);  // [U, dim]
  at::Tensor e0 = linear(at::silu(e), m.time_proj);                     // [U, 6 dim]
  const at::Tensor index = inverse.to(m.device);
  e = e.index_select(0, index).view({batch, lt, dim});       // [B, Lt, dim]
  e0 = e0.index_select(0, index).view({batch, lt, 6, dim});  // [B, Lt, 6, dim]
  return {e, e0};
}

at::Tensor WanDiT::embed_text(const std::vector<at::Tensor>& context) const {
  c10::InferenceMode guard;
  const Impl& m = *impl_;
  const WanDiTConfig& c = m.config;
  if (context.empty()) throw invalid("no text context given");
  const auto opt = at::TensorOptions().device(m.device).dtype(m.dtype);
  at::Tensor padded = at::zeros({int64_t(context.size()), c.text_len, c.text_dim}, opt);
  for (size_t i = 0; i < context.size(); ++i) {
    const at::Tensor& u = context[i];
    if (u.dim() != 2 || u.size(1) != c.text_dim || u.size(0) > c.text_len) {
      throw invalid("text context " + std::to_string(i) + " has shape " + c10::str(u.sizes()) +
                    "; expected [L, " + std::to_string(c.text_dim) + "] with L <= text_len " +
                    std::to_string(c.text_len));
    }
    padded[int64_t(i)].narrow(0, 0, u.size(0)).copy_(u);  // zero-padded to text_len, not masked
  }
  // [B, text_len, dim]
  return linear(at::gelu(linear(padded, m.text1), "tanh"), m.text2);
}

// ---- RoPE ---------------------------------------------------------------------------------------

at::Tensor WanDiT::rope_table(int64_t head_dim, int64_t positions) {
  RF_CHECK(head_dim % 2 == 0 && head_dim >= 6, "RoPE needs an even head_dim >= 6");
  const int64_t d6 = head_dim / 6;
  const int64_t axis_dims[3] = {head_dim - 4 * d6, 2 * d6, 2 * d6};  // frame, height, width
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor pos = at::arange(positions, f64);  // [P]
  std::vector<at::Tensor> parts;
  for (int64_t axis_dim : axis_dims) {
    // rope_params: 1 / theta^(arange(0, d, 2) / d) in float64.
    const at::Tensor inv = at::pow(10000.0, at::arange(0, axis_dim, 2, f64).div(double(axis_dim)))
                               .reciprocal();                            // [d_axis / 2]
    const at::Tensor angles = at::outer(pos, inv);                       // [P, d_axis / 2]
    parts.push_back(at::stack({at::cos(angles), at::sin(angles)}, -1));  // [P, d_axis / 2, 2]
  }
  return at::cat(parts, 1);  // [P, head_dim / 2, 2]
}

at::Tensor WanDiT::rope_cos_sin(const std::vector<Grid>& grids, int64_t length) const {
  const at::Tensor& table = impl_->rope;  // [1024, c, 2] float64
  const int64_t c = table.size(1), cf = c - 2 * (c / 3), ch = c / 3;
  at::Tensor out = at::zeros({int64_t(grids.size()), length, 1, c, 2}, table.options());
  out.select(-1, 0).fill_(1.0);  // identity rotation for padding rows
  for (size_t b = 0; b < grids.size(); ++b) {
    const auto [f, h, w] = grids[b];
    if (f > table.size(0) || h > table.size(0) || w > table.size(0)) {
      throw invalid("token grid " + std::to_string(f) + "x" + std::to_string(h) + "x" +
                    std::to_string(w) + " exceeds the " + std::to_string(table.size(0)) +
                    " RoPE positions per axis");
    }
    const at::Tensor tf = table.narrow(0, 0, f).narrow(1, 0, cf).view({f, 1, 1, cf, 2});
    const at::Tensor th = table.narrow(0, 0, h).narrow(1, cf, ch).view({1, h, 1, ch, 2});
    const at::Tensor tw = table.narrow(0, 0, w).narrow(1, cf + ch, ch).view({1, 1, w, ch, 2});
    const at::Tensor rows = at::cat({tf.expand({f, h, w, cf, 2}), th.expand({f, h, w, ch, 2}),
                                     tw.expand({f, h, w, ch, 2})},
                                    3)
                                .view({f * h * w, 1, c, 2});  // [L_b, 1, c, 2]
    out[int64_t(b)].narrow(0, 0, f * h * w).copy_(rows);
  }
  // Angles and their cos/sin are float64 like the reference; the rotation itself is float32.
  return out.to(at::TensorOptions().dtype(at::kFloat).device(impl_->device));
}

at::Tensor WanDiT::apply_rope(const at::Tensor& x, const at::Tensor& cos_sin) {
  const int64_t b = x.size(0), l = x.size(1), h = x.size(2), d = x.size(3);
  const at::Tensor xf = x.to(at::kFloat).reshape({b, l, h, d / 2, 2});
  const at::Tensor x0 = xf.select(-1, 0), x1 = xf.select(-1, 1);  // [B, L, H, c]
  const at::Tensor cs = cos_sin.narrow(1, 0, l);
  const at::Tensor cos = cs.select(-1, 0), sin = cs.select(-1, 1);  // [B, L, 1, c]
  // (x0 + i x1) (cos + i sin): adjacent pairs are the complex numbers.
  const at::Tensor out = at::stack({x0 * cos - x1 * sin, x0 * sin + x1 * cos}, -1);
  return out.view({b, l, h, d}).to(x.scalar_type());
}

// ---- blocks -------------------------------------------------------------------------------------

namespace {

struct ForwardState {
  const WanDiT::Impl& m;
  const WanDiTForwardOptions& options;
  void trace(const std::string& name, const at::Tensor& value) const {
    if (options.trace) options.trace(name, value);
  }
};

// A block's cross-attention keys and values for embedded text [B, T, dim]: [B, H, T, D] each.
std::pair<at::Tensor, at::Tensor> cross_kv(const WanDiT::Impl& m, const WanBlockWeights& w,
                                           const at::Tensor& text) {
  const int64_t dim = m.config.dim, heads = m.config.num_heads;
  const at::Tensor kv = linear(text, w.cross_kv);  // [B, T, 2 dim]
  const at::Tensor k = rms_norm(kv.narrow(-1, 0, dim), w.cross_norm_k, m.config.eps).to(m.dtype);
  const at::Tensor v = kv.narrow(-1, dim, dim);
  return {heads_first(k, heads).contiguous(), heads_first(v, heads).contiguous()};
}

// One WanAttentionBlock. x [B, L, dim] float32 is updated in place. `text_kv` are the block's
// cross-attention keys and values, or undefined to compute them from `text` here.
void run_block(const ForwardState& s, int64_t index, const WanBlockWeights& w, at::Tensor& x,
               const at::Tensor& e0, const at::Tensor& text,
               const std::pair<at::Tensor, at::Tensor>& text_kv, const at::Tensor& cos_sin,
               const std::vector<int64_t>& lengths) {
  const WanDiTConfig& c = s.m.config;
  const int64_t heads = c.num_heads, dim = c.dim;
  const std::string name = "block" + std::to_string(index) + "_";
  const at::Tensor mod =
      w.modulation + e0;  // [B, Lt, 6, dim]: shift1 scale1 gate1 shift2 scale2 gate2
  const auto part = [&](int64_t i) { return mod.select(2, i); };  // [B, Lt, dim]

  // Self-attention with q/k RMSNorm over the full dim, then RoPE, keys >= length masked.
  {
    const at::Tensor h = modulate(x, part(0), part(1), c.eps);
    const at::Tensor qkv = linear(h, w.self_qkv);  // [B, L, 3 dim]
    const at::Tensor q = WanDiT::apply_rope(rms_norm(qkv.narrow(-1, 0, dim), w.self_norm_q, c.eps)
                                                .view({x.size(0), x.size(1), heads, -1}),
                                            cos_sin);
    const at::Tensor k = WanDiT::apply_rope(rms_norm(qkv.narrow(-1, dim, dim), w.self_norm_k, c.eps)
                                                .view({x.size(0), x.size(1), heads, -1}),
                                            cos_sin);
    const at::Tensor v = heads_first(qkv.narrow(-1, 2 * dim, dim), heads);
    const auto dt = s.m.dtype;
    const at::Tensor att = attention(q.to(dt).transpose(1, 2), k.to(dt).transpose(1, 2), v, lengths,
                                     {}, s.options.attention);  // [B, H, L, D]
    at::Tensor y = linear(heads_last(att), w.self_o);           // [B, L, dim]
    s.trace(name + "self_attn_out", y);
    x.addcmul_(y.to(at::kFloat), part(2));
  }
  // Cross-attention to the (unmasked, zero-padded) text; affine norm3, q/k RMSNorm, no RoPE.
  {
    const at::Tensor h = layer_norm(x, c.eps, w.norm3_weight, w.norm3_bias);
    const at::Tensor q = rms_norm(linear(h, w.cross_q), w.cross_norm_q, c.eps).to(s.m.dtype);
    const auto [k, v] = text_kv.first.defined() ? text_kv : cross_kv(s.m, w, text);
    const at::Tensor att = attention(heads_first(q, heads), k, v, {}, {}, s.options.attention);
    at::Tensor y = linear(heads_last(att), w.cross_o);
    s.trace(name + "cross_attn_out", y);
    x.add_(y.to(at::kFloat));
  }
  // FFN: Linear - GELU(tanh) - Linear, gated.
  {
    const at::Tensor h = modulate(x, part(3), part(4), c.eps);
    const at::Tensor y = linear(at::gelu(linear(h, w.ffn1), "tanh"), w.ffn2);
    x.addcmul_(y.to(at::kFloat), part(5));
  }
  s.trace(name + "out", x);
}

// Blocks and head over embedded tokens. Returns the head output [B, L, pt*ph*pw*C_out] float32.
at::Tensor run_tokens(const ForwardState& s, const WanDiT& model, Tokens tokens,
                      const at::Tensor& e, const at::Tensor& e0, const at::Tensor& text,
                      const WanDiTTextKV* text_kv = nullptr) {
  const WanDiT::Impl& m = s.m;
  at::Tensor& x = tokens.x;
  s.trace("x_embedded", x);
  s.trace("e", e);
  s.trace("e0", e0);
  s.trace("context_embedded", text);
  const at::Tensor cos_sin = model.rope_cos_sin(tokens.grids, x.size(1));  // [B, L, 1, c, 2]
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    if (s.options.cancel) s.options.cancel->throw_if_cancelled("Wan DiT forward");
    const std::pair<at::Tensor, at::Tensor> kv =
        text_kv ? std::make_pair(text_kv->k[i], text_kv->v[i])
                : std::pair<at::Tensor, at::Tensor>();
    run_block(s, int64_t(i), m.blocks[i], x, e0, text, kv, cos_sin, tokens.lengths);
  }
  // Head: (shift, scale) = head.modulation + e.
  const at::Tensor mod = m.head_modulation + e.unsqueeze(2);  // [B, Lt, 2, dim]
  const at::Tensor out =
      linear(modulate(x, mod.select(2, 0), mod.select(2, 1), m.config.eps), m.head);
  s.trace("head_out", out);
  return out;
}

// t [B] or [B, seq_len] -> the (e, e0) rows for the first `length` tokens.
std::pair<at::Tensor, at::Tensor> time_rows(const WanDiT& model, const at::Tensor& t, int64_t batch,
                                            int64_t seq_len, int64_t length) {
  if (!((t.dim() == 1 && t.size(0) == batch) ||
        (t.dim() == 2 && t.size(0) == batch && t.size(1) == seq_len))) {
    throw invalid("timesteps have shape " + c10::str(t.sizes()) + "; expected [" +
                  std::to_string(batch) + "] or [" + std::to_string(batch) + ", " +
                  std::to_string(seq_len) + "] (per token)");
  }
  // Tokens past the longest sample only ever reach padded rows, so they are not computed.
  return model.embed_time(t.dim() == 2 ? t.narrow(1, 0, length) : t);
}

}  // namespace

// ---- forward ------------------------------------------------------------------------------------

std::vector<at::Tensor> WanDiT::forward(const std::vector<at::Tensor>& x, const at::Tensor& t,
                                        const std::vector<at::Tensor>& context, int64_t seq_len,
                                        const WanDiTForwardOptions& options) const {
  c10::InferenceMode guard;
  const Impl& m = *impl_;
  const WanDiTConfig& c = m.config;
  if (x.empty()) throw invalid("no latents given");
  if (context.size() != x.size()) {
    throw invalid(std::to_string(x.size()) + " latents but " + std::to_string(context.size()) +
                  " text contexts; give one context per latent");
  }
  Tokens tokens;
  std::vector<at::Tensor> embedded;
  int64_t longest = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    check_latent(x[i], c, "latent " + std::to_string(i));
    const Grid g{x[i].size(1) / c.patch_size[0], x[i].size(2) / c.patch_size[1],
                 x[i].size(3) / c.patch_size[2]};
    tokens.grids.push_back(g);
    tokens.lengths.push_back(g[0] * g[1] * g[2]);
    if (tokens.lengths.back() > seq_len) {
      throw invalid("seq_len " + std::to_string(seq_len) + " is smaller than the " +
                    std::to_string(tokens.lengths.back()) + " tokens of latent " +
                    std::to_string(i) + "; seq_len must be >= the largest token count");
    }
    longest = std::max(longest, tokens.lengths.back());
    // [L_i, dim]
    embedded.push_back(linear(patchify(x[i].to(m.device), c.patch_size), m.patch).to(at::kFloat));
  }
  // Zero-padded to the longest sample; the reference pads to seq_len, but rows past every
  // sample's length are masked keys that never influence a valid row.
  tokens.x = at::zeros({int64_t(x.size()), longest, c.dim},
                       at::TensorOptions().dtype(at::kFloat).device(m.device));  // [B, L, dim]
  for (size_t i = 0; i < x.size(); ++i) {
    tokens.x[int64_t(i)].narrow(0, 0, tokens.lengths[i]).copy_(embedded[i]);
  }
  embedded.clear();
  const auto [e, e0] = time_rows(*this, t.to(m.device), int64_t(x.size()), seq_len, longest);
  const at::Tensor text = embed_text(context);
  const ForwardState state{m, options};
  const std::vector<Grid> grids = tokens.grids;
  const std::vector<int64_t> lengths = tokens.lengths;
  const at::Tensor head = run_tokens(state, *this, std::move(tokens), e, e0, text);
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < x.size(); ++i) {
    out.push_back(
        unpatchify(head[int64_t(i)].narrow(0, 0, lengths[i]), grids[i], c.patch_size, c.out_dim));
  }
  return out;
}

at::Tensor WanDiT::forward_batch(const at::Tensor& x, const at::Tensor& t, const at::Tensor& text,
                                 const WanDiTForwardOptions& options) const {
  WanDiTTextKV plain;
  plain.text = text;
  return forward_batch(x, t, plain, options);
}

WanDiTTextKV WanDiT::prepare_text(const std::vector<at::Tensor>& context) const {
  c10::InferenceMode guard;
  WanDiTTextKV kv;
  kv.text = embed_text(context);
  for (const WanBlockWeights& w : impl_->blocks) {
    auto [k, v] = cross_kv(*impl_, w, kv.text);
    kv.k.push_back(std::move(k));
    kv.v.push_back(std::move(v));
  }
  return kv;
}

at::Tensor WanDiT::forward_batch(const at::Tensor& x, const at::Tensor& t,
                                 const WanDiTTextKV& text_kv,
                                 const WanDiTForwardOptions& options) const {
  c10::InferenceMode guard;
  const at::Tensor& text = text_kv.text;
  const Impl& m = *impl_;
  const WanDiTConfig& c = m.config;
  if (x.dim() != 5) {
    throw invalid("latent batch has shape " + c10::str(x.sizes()) + "; expected [B, " +
                  std::to_string(c.in_dim) + ", F, H, W]");
  }
  const int64_t batch = x.size(0);
  check_latent(x[0], c, "latent batch");
  if (text.dim() != 3 || text.size(0) != batch || text.size(1) != c.text_len ||
      text.size(2) != c.dim) {
    throw invalid("text embedding has shape " + c10::str(text.sizes()) + "; expected [" +
                  std::to_string(batch) + ", " + std::to_string(c.text_len) + ", " +
                  std::to_string(c.dim) + "] from embed_text()");
  }
  const Grid g{x.size(2) / c.patch_size[0], x.size(3) / c.patch_size[1],
               x.size(4) / c.patch_size[2]};
  const int64_t length = g[0] * g[1] * g[2];
  Tokens tokens;
  tokens.grids.assign(size_t(batch), g);
  tokens.lengths.assign(size_t(batch), length);
  tokens.x = linear(patchify(x.to(m.device), c.patch_size), m.patch).to(at::kFloat);  // [B, L, dim]
  if (t.dim() == 2 && t.size(1) < length) {
    throw invalid("per-token timesteps cover " + std::to_string(t.size(1)) +
                  " tokens; the latents have " + std::to_string(length));
  }
  const auto [e, e0] =
      time_rows(*this, t.to(m.device), batch, t.dim() == 2 ? t.size(1) : length, length);
  const ForwardState state{m, options};
  const bool cached = text_kv.k.size() == m.blocks.size();
  RF_CHECK(cached || text_kv.k.empty(), "WanDiTTextKV has keys for some blocks only");
  const at::Tensor head = run_tokens(state, *this, std::move(tokens), e, e0, text.to(m.device),
                                     cached ? &text_kv : nullptr);
  // [B, L, pt*ph*pw*C] -> [B, C, F, H, W]
  const auto& p = c.patch_size;
  return head.view({batch, g[0], g[1], g[2], p[0], p[1], p[2], c.out_dim})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})
      .reshape({batch, c.out_dim, g[0] * p[0], g[1] * p[1], g[2] * p[2]});
}

}  // namespace reelforge::models
