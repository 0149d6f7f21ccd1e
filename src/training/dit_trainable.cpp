// Follows the inference forward in src/models/wan_dit.cpp (and so wan/modules/model.py) op by op,
// without its in-place updates and cached keys, which autograd cannot differentiate through.

#include "reelforge/training/dit_trainable.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::training {
namespace {

struct Ops {
  const NamedWeights& w;
  at::ScalarType dtype;
  double eps;

  const at::Tensor& get(const std::string& name) const { return weight(w, name); }

  at::Tensor linear(const at::Tensor& x, const std::string& name, bool in_compute = true) const {
    const at::ScalarType dt = in_compute ? dtype : at::kFloat;
    return at::linear(in_dtype(x, dt), in_dtype(get(name + ".weight"), dt),
                      in_dtype(get(name + ".bias"), dt));
  }
  at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight = {},
                        const at::Tensor& bias = {}) const {
    return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, weight, bias, eps);
  }
  at::Tensor rms_norm(const at::Tensor& x, const std::string& name) const {
    const at::Tensor xf = x.to(at::kFloat);
    at::Tensor y = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
    if (x.scalar_type() != at::kFloat) y = y.to(x.scalar_type()).to(at::kFloat);
    return y * get(name + ".weight");
  }
};

at::Tensor heads_first(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor heads_last(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

at::Tensor softmax_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const double scale = 1.0 / std::sqrt(double(q.size(-1)));
  const at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).to(at::kFloat) * scale;
  return at::matmul(at::softmax(scores, -1).to(v.scalar_type()), v);
}

}  // namespace

NamedWeights init_dit_weights(const models::WanDiTConfig& config, uint64_t seed) {
  models::WanDiTLoadOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  const models::WanDiT reference = models::WanDiT::random(config, options, seed);
  NamedWeights w = trainable_copy(reference.named_parameters());
  c10::InferenceMode guard(false);
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : w) {
    const bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    const bool is_norm = name.find("norm") != std::string::npos;
    if (name.find("modulation") != std::string::npos && models::split_wan_block_weight_name(name)) {
      tensor.zero_();
    } else if (name.rfind("head.head.", 0) == 0) {
      tensor.zero_();
    } else if (bias && !is_norm) {
      tensor.zero_();
    }
  }
  return w;
}

at::Tensor dit_forward(const NamedWeights& w, const models::WanDiTConfig& c, const at::Tensor& x,
                       const at::Tensor& t, const at::Tensor& text, at::ScalarType dtype,
                       const DiTTap& tap) {
  if (x.dim() != 5 || x.size(1) != c.in_dim) {
    throw Error(ErrorCategory::InvalidArgument, "latent batch has shape " + c10::str(x.sizes()) +
                                                    "; expected [B, " + std::to_string(c.in_dim) +
                                                    ", F, H, W]");
  }
  const auto& p = c.patch_size;
  const int64_t batch = x.size(0), dim = c.dim, heads = c.num_heads;
  const int64_t gf = x.size(2) / p[0], gh = x.size(3) / p[1], gw = x.size(4) / p[2];
  const int64_t length = gf * gh * gw;
  if (text.dim() != 3 || text.size(0) != batch || text.size(2) != c.text_dim ||
      text.size(1) > c.text_len) {
    throw Error(ErrorCategory::InvalidArgument, "text has shape " + c10::str(text.sizes()) +
                                                    "; expected [" + std::to_string(batch) +
                                                    ", <= " + std::to_string(c.text_len) + ", " +
                                                    std::to_string(c.text_dim) + "]");
  }
  if (tap.hidden && (tap.after_blocks < 1 || tap.after_blocks > c.num_layers)) {
    throw Error(ErrorCategory::InvalidArgument,
                "a DiT of " + std::to_string(c.num_layers) + " blocks has no tap after " +
                    std::to_string(tap.after_blocks) + " (valid: 1 to " +
                    std::to_string(c.num_layers) + ")");
  }
  const Ops ops{w, dtype, c.eps};

  // Patch embedding: the Conv3d with stride = kernel as a matmul over patches.
  const at::Tensor patches = x.view({batch, c.in_dim, gf, p[0], gh, p[1], gw, p[2]})
                                 .permute({0, 2, 4, 6, 1, 3, 5, 7})
                                 .reshape({batch, length, c.in_dim * c.patch_volume()});
  const at::Tensor patch_w = ops.get("patch_embedding.weight").view({dim, -1});
  at::Tensor h = at::linear(in_dtype(patches, dtype), in_dtype(patch_w, dtype),
                            in_dtype(ops.get("patch_embedding.bias"), dtype))
                     .to(at::kFloat);  // [B, L, dim]

  // Time embedding (float32 as in the reference), computed once per group of tokens that share a
  // timestep and broadcast over the group: the tokens are G groups of S = L / G, e [B, G, 1, dim],
  // e0 [B, G, 1, 6, dim]. Per-token timesteps (TI2V) are almost always per latent frame, where
  // embedding each token separately would cost more than the blocks' attention.
  at::Tensor tt = (t.dim() == 1 ? t.unsqueeze(1) : t.narrow(1, 0, length)).to(at::kFloat);
  if (tt.size(1) == length) {
    const at::Tensor per_frame = tt.view({batch, gf, gh * gw});
    const at::Tensor first = per_frame.narrow(2, 0, 1);
    if (at::equal(per_frame, first.expand_as(per_frame))) tt = first.reshape({batch, gf});
  }
  const int64_t groups = tt.size(1), group_size = length / groups;
  const at::Tensor features =
      models::WanDiT::sinusoidal_embedding(tt.reshape({-1}), c.freq_dim).to(x.device());
  const at::Tensor e = ops.linear(at::silu(ops.linear(features, "time_embedding.0", false)),
                                  "time_embedding.2", false);
  const at::Tensor e0 =
      ops.linear(at::silu(e), "time_projection.1", false).view({batch, groups, 1, 6, dim});
  const at::Tensor e_rows = e.view({batch, groups, 1, dim});
  // [B, L, dim] <-> [B, G, S, dim], so that [B, G, 1, dim] modulations broadcast over each group.
  const auto grouped = [&](const at::Tensor& y) {
    return y.view({batch, groups, group_size, y.size(-1)});
  };
  const auto tokens = [&](const at::Tensor& y) { return y.view({batch, length, y.size(-1)}); };
  const auto modulate = [&](const at::Tensor& y, const at::Tensor& shift, const at::Tensor& scale) {
    return tokens(grouped(ops.layer_norm(y)) * (scale + 1.0) + shift);
  };

  // Text: zero-padded to text_len like WanDiT::embed_text, then the MLP.
  at::Tensor padded = text;
  if (text.size(1) < c.text_len) {
    padded = at::constant_pad_nd(text, {0, 0, 0, c.text_len - text.size(1)});
  }
  const at::Tensor context =
      ops.linear(at::gelu(ops.linear(padded, "text_embedding.0"), "tanh"), "text_embedding.2");

  // RoPE rows of the grid, shared by the batch.
  const at::Tensor table = models::WanDiT::rope_table(c.head_dim());  // [1024, c, 2] float64
  const int64_t half = table.size(1), cf = half - 2 * (half / 3), ch = half / 3;
  const at::Tensor tf = table.narrow(0, 0, gf).narrow(1, 0, cf).view({gf, 1, 1, cf, 2});
  const at::Tensor th = table.narrow(0, 0, gh).narrow(1, cf, ch).view({1, gh, 1, ch, 2});
  const at::Tensor tw = table.narrow(0, 0, gw).narrow(1, cf + ch, ch).view({1, 1, gw, ch, 2});
  const at::Tensor cos_sin =
      at::cat({tf.expand({gf, gh, gw, cf, 2}), th.expand({gf, gh, gw, ch, 2}),
               tw.expand({gf, gh, gw, ch, 2})},
              3)
          .view({1, length, 1, half, 2})
          .to(at::TensorOptions().dtype(at::kFloat).device(x.device()));

  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = models::wan_block_weight_name(i, "");
    const at::Tensor mod =
        ops.get(b + "modulation").view({1, 1, 1, 6, dim}) + e0;  // [B, G, 1, 6, dim]
    const auto part = [&](int64_t k) { return mod.select(3, k); };  // [B, G, 1, dim]
    {
      const at::Tensor n = modulate(h, part(0), part(1));
      const auto project = [&](const char* name, bool rope) {
        at::Tensor y = ops.linear(n, b + "self_attn." + name);
        if (!rope) return heads_first(y, heads);
        if (c.qk_norm) y = ops.rms_norm(y, b + "self_attn.norm_" + name);
        y = models::WanDiT::apply_rope(y.view({batch, length, heads, -1}), cos_sin);
        return y.to(dtype).transpose(1, 2);
      };
      const at::Tensor q = project("q", true), k = project("k", true), v = project("v", false);
      const at::Tensor y = ops.linear(heads_last(softmax_attention(q, k, v)), b + "self_attn.o");
      h = h + tokens(grouped(y.to(at::kFloat)) * part(2));
    }
    {
      const at::Tensor n = c.cross_attn_norm ? ops.layer_norm(h, ops.get(b + "norm3.weight"),
                                                              ops.get(b + "norm3.bias"))
                                             : h;
      at::Tensor q = ops.linear(n, b + "cross_attn.q");
      at::Tensor k = ops.linear(context, b + "cross_attn.k");
      if (c.qk_norm) {
        q = ops.rms_norm(q, b + "cross_attn.norm_q").to(dtype);
        k = ops.rms_norm(k, b + "cross_attn.norm_k").to(dtype);
      }
      const at::Tensor v = ops.linear(context, b + "cross_attn.v");
      const at::Tensor att =
          softmax_attention(heads_first(q, heads), heads_first(k, heads), heads_first(v, heads));
      h = h + ops.linear(heads_last(att), b + "cross_attn.o").to(at::kFloat);
    }
    {
      const at::Tensor n = modulate(h, part(3), part(4));
      const at::Tensor y = ops.linear(at::gelu(ops.linear(n, b + "ffn.0"), "tanh"), b + "ffn.2");
      h = h + tokens(grouped(y.to(at::kFloat)) * part(5));
    }
    if (tap.hidden && i + 1 == tap.after_blocks) *tap.hidden = h;
  }
  const at::Tensor head_mod =
      ops.get("head.modulation").view({1, 1, 1, 2, dim}) + e_rows.unsqueeze(3);
  const at::Tensor out = ops.linear(modulate(h, head_mod.select(3, 0), head_mod.select(3, 1)),
                                    "head.head", false);  // [B, L, pt*ph*pw*C]
  return out.view({batch, gf, gh, gw, p[0], p[1], p[2], c.out_dim})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})
      .reshape({batch, c.out_dim, gf * p[0], gh * p[1], gw * p[2]});
}

}  // namespace reelforge::training
