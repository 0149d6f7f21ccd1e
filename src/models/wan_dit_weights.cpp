// Wan DiT: config inference from weight shapes, checkpoint key layouts, weight allocation,
// loading and random init. The forward lives in wan_dit.cpp.

#include <ATen/ATen.h>

#include <c10/core/InferenceMode.h>
#include <c10/util/StringUtil.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "wan_dit_impl.hpp"

namespace reelforge::models {
namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Up to `limit` names, then "and N more".
std::string name_list(const std::vector<std::string>& names, size_t limit = 6) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

constexpr const char* kPatchWeight = "patch_embedding.weight";
constexpr const char* kDiffusersMarker = "condition_embedder.time_embedder.linear_1.weight";

// diffusers WanTransformer3DModel name -> official Wan name (README "Checkpoint key layouts").
std::string diffusers_to_official(const std::string& rel) {
  static const std::vector<std::pair<std::string, std::string>> kTop = {
      {"condition_embedder.text_embedder.linear_1.", "text_embedding.0."},
      {"condition_embedder.text_embedder.linear_2.", "text_embedding.2."},
      {"condition_embedder.time_embedder.linear_1.", "time_embedding.0."},
      {"condition_embedder.time_embedder.linear_2.", "time_embedding.2."},
      {"condition_embedder.time_proj.", "time_projection.1."},
      {"condition_embedder.image_embedder.norm1.", "img_emb.proj.0."},
      {"condition_embedder.image_embedder.ff.net.0.proj.", "img_emb.proj.1."},
      {"condition_embedder.image_embedder.ff.net.2.", "img_emb.proj.3."},
      {"condition_embedder.image_embedder.norm2.", "img_emb.proj.4."},
      {"proj_out.", "head.head."},
  };
  // Inside blocks.N. Note the swap: diffusers' affine norm2 is Wan's norm3 (before cross-attn).
  static const std::vector<std::pair<std::string, std::string>> kBlock = {
      {"attn1.to_q.", "self_attn.q."},
      {"attn1.to_k.", "self_attn.k."},
      {"attn1.to_v.", "self_attn.v."},
      {"attn1.to_out.0.", "self_attn.o."},
      {"attn1.norm_q.", "self_attn.norm_q."},
      {"attn1.norm_k.", "self_attn.norm_k."},
      {"attn2.to_q.", "cross_attn.q."},
      {"attn2.to_k.", "cross_attn.k."},
      {"attn2.to_v.", "cross_attn.v."},
      {"attn2.to_out.0.", "cross_attn.o."},
      {"attn2.norm_q.", "cross_attn.norm_q."},
      {"attn2.norm_k.", "cross_attn.norm_k."},
      {"attn2.add_k_proj.", "cross_attn.k_img."},
      {"attn2.add_v_proj.", "cross_attn.v_img."},
      {"attn2.norm_added_k.", "cross_attn.norm_k_img."},
      {"norm2.", "norm3."},
      {"ffn.net.0.proj.", "ffn.0."},
      {"ffn.net.2.", "ffn.2."},
  };
  if (rel == "scale_shift_table") return "head.modulation";
  for (const auto& [from, to] : kTop) {
    if (starts_with(rel, from)) return to + rel.substr(from.size());
  }
  if (const auto weight = split_wan_block_weight_name(rel)) {
    const std::string& rest = weight->member;
    if (rest == "scale_shift_table") return wan_block_weight_name(weight->block, "modulation");
    for (const auto& [from, to] : kBlock) {
      if (starts_with(rest, from)) {
        return wan_block_weight_name(weight->block, to + rest.substr(from.size()));
      }
    }
  }
  return rel;
}

const std::vector<int64_t>& need_shape(const std::map<std::string, std::vector<int64_t>>& shapes,
                                       const std::string& name, size_t rank) {
  const auto it = shapes.find(name);
  if (it == shapes.end()) {
    throw Error(ErrorCategory::Format,
                "the weights have no tensor '" + name + "', which every Wan DiT has", name);
  }
  if (it->second.size() != rank) {
    throw Error(ErrorCategory::Format,
                "tensor '" + name + "' has shape " + c10::str(c10::IntArrayRef(it->second)) +
                    "; expected " + std::to_string(rank) + " dimensions",
                name);
  }
  return it->second;
}

}  // namespace

const char* to_string(WanModelType type) {
  return type == WanModelType::TI2V ? "ti2v" : "t2v";
}

WanModelType parse_wan_model_type(const std::string& name) {
  if (name == "t2v") return WanModelType::T2V;
  if (name == "ti2v") return WanModelType::TI2V;
  throw Error(ErrorCategory::InvalidArgument,
              "unsupported Wan DiT model type '" + name + "'; supported: t2v, ti2v");
}

const char* to_string(WanPrediction prediction) {
  return prediction == WanPrediction::Clean ? "clean" : "velocity";
}

WanPrediction parse_wan_prediction(const std::string& name) {
  if (name == "velocity") return WanPrediction::Velocity;
  if (name == "clean") return WanPrediction::Clean;
  throw Error(ErrorCategory::InvalidArgument,
              "unsupported DiT prediction '" + name + "'; supported: velocity, clean");
}

at::Tensor velocity_from_output(WanPrediction prediction, const at::Tensor& output,
                                const at::Tensor& x, const at::Tensor& sigma) {
  if (prediction == WanPrediction::Velocity) return output;
  // x - x0 = sigma (noise - x0)
  return (x - output) / sigma;
}

const char* to_string(WanDiTLayout layout) {
  switch (layout) {
    case WanDiTLayout::Auto:
      return "auto";
    case WanDiTLayout::Official:
      return "official";
    case WanDiTLayout::ComfyUI:
      return "comfyui";
    case WanDiTLayout::Diffusers:
      return "diffusers";
  }
  return "?";
}

// ---- config -------------------------------------------------------------------------------------

void WanDiTConfig::validate() const {
  const auto bad = [](const std::string& m) { return Error(ErrorCategory::InvalidArgument, m); };
  for (int64_t v : {in_dim, out_dim, dim, ffn_dim, freq_dim, text_dim, text_len, num_heads,
                    num_layers, patch_size[0], patch_size[1], patch_size[2]}) {
    if (v < 1) throw bad("Wan DiT config has a non-positive size (" + std::to_string(v) + ")");
  }
  if (dim % num_heads != 0) {
    throw bad("Wan DiT dim " + std::to_string(dim) + " is not divisible by num_heads " +
              std::to_string(num_heads));
  }
  if (head_dim() % 2 != 0 || head_dim() < 6) {
    throw bad("Wan DiT head_dim " + std::to_string(head_dim()) +
              " must be even and at least 6 for the 3-axis RoPE; check num_heads");
  }
  if (freq_dim % 2 != 0) throw bad("Wan DiT freq_dim " + std::to_string(freq_dim) + " is odd");
}

std::string wan_block_weight_name(int64_t block, const std::string& member) {
  return kWanBlockPrefix + std::to_string(block) + "." + member;
}

std::optional<WanBlockWeightName> split_wan_block_weight_name(const std::string& name) {
  const size_t first_digit = std::char_traits<char>::length(kWanBlockPrefix);
  if (!starts_with(name, kWanBlockPrefix)) return std::nullopt;
  const size_t dot = name.find('.', first_digit);
  const bool numbered = dot != std::string::npos && dot > first_digit && dot - first_digit <= 6 &&
                        dot + 1 < name.size() &&
                        std::all_of(name.begin() + long(first_digit), name.begin() + long(dot),
                                    [](unsigned char c) { return std::isdigit(c) != 0; });
  if (!numbered) return std::nullopt;
  return WanBlockWeightName{std::stoll(name.substr(first_digit, dot - first_digit)),
                            name.substr(dot + 1)};
}

WanDiTConfig WanDiTConfig::from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                        const WanDiTHints& hints) {
  for (const auto& [name, shape] : shapes) {
    if (starts_with(name, "img_emb.") || name.find(".k_img.") != std::string::npos) {
      throw Error(ErrorCategory::Unsupported,
                  "these are Wan 2.1 image-to-video DiT weights (CLIP image cross-attention, '" +
                      name + "'); supported are the t2v and ti2v DiTs",
                  name);
    }
  }
  WanDiTConfig c;
  const auto& pe = need_shape(shapes, kPatchWeight, 5);
  c.dim = pe[0];
  c.in_dim = pe[1];
  c.patch_size = {pe[2], pe[3], pe[4]};
  const auto& te = need_shape(shapes, "text_embedding.0.weight", 2);
  c.text_dim = te[1];
  c.freq_dim = need_shape(shapes, "time_embedding.0.weight", 2)[1];
  c.ffn_dim = need_shape(shapes, wan_block_weight_name(0, "ffn.0.weight"), 2)[0];
  const auto& head = need_shape(shapes, "head.head.weight", 2);
  if (head[0] % c.patch_volume() != 0) {
    throw Error(ErrorCategory::Format,
                "head.head.weight has " + std::to_string(head[0]) +
                    " rows, not a multiple of the patch volume " + std::to_string(c.patch_volume()),
                "head.head.weight");
  }
  c.out_dim = head[0] / c.patch_volume();
  int64_t layers = 0;
  for (const auto& [name, shape] : shapes) {
    if (const auto weight = split_wan_block_weight_name(name)) {
      layers = std::max<int64_t>(layers, weight->block + 1);
    }
  }
  c.num_layers = layers;
  c.qk_norm = shapes.count(wan_block_weight_name(0, "self_attn.norm_q.weight")) > 0;
  c.cross_attn_norm = shapes.count(wan_block_weight_name(0, "norm3.weight")) > 0;

  if (hints.num_heads) {
    c.num_heads = *hints.num_heads;
  } else if (c.dim % 128 == 0) {
    c.num_heads = c.dim / 128;
  } else {
    throw Error(ErrorCategory::InvalidArgument,
                "cannot infer the head count of a Wan DiT with dim " + std::to_string(c.dim) +
                    " (not a multiple of head_dim 128); give num_heads in the model manifest");
  }
  c.model_type = hints.model_type.value_or(c.in_dim == 48 ? WanModelType::TI2V : WanModelType::T2V);
  c.text_len = hints.text_len.value_or(512);
  c.eps = hints.eps.value_or(1e-6);
  c.prediction = hints.prediction.value_or(WanPrediction::Velocity);
  c.validate();
  return c;
}

WanDiTConfig WanDiTConfig::from_weights(const tensors::Checkpoint& weights,
                                        const WanDiTHints& hints,
                                        const std::optional<std::string>& prefix) {
  const WanDiTKeyMap keys = WanDiTKeyMap::detect(weights.names(), WanDiTLayout::Auto, prefix);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [source, canonical] : keys.to_canonical) {
    shapes[canonical] = weights.info(source).shape;
  }
  return from_weights(shapes, hints);
}

WanDiTConfig WanDiTConfig::preset(const std::string& variant) {
  WanDiTConfig c;  // defaults: text_dim 4096, freq_dim 256, text_len 512, patch 1x2x2
  if (variant == "wan2.1-1.3b") {
    c.dim = 1536, c.ffn_dim = 8960, c.num_heads = 12, c.num_layers = 30;
  } else if (variant == "wan2.1-14b") {
    c.dim = 5120, c.ffn_dim = 13824, c.num_heads = 40, c.num_layers = 40;
  } else if (variant == "wan2.2-5b") {
    c.dim = 3072, c.ffn_dim = 14336, c.num_heads = 24, c.num_layers = 30;
    c.in_dim = c.out_dim = 48;
    c.model_type = WanModelType::TI2V;
  } else {
    throw Error(ErrorCategory::InvalidArgument, "unknown Wan DiT variant '" + variant +
                                                    "'; valid: wan2.1-1.3b, wan2.1-14b, wan2.2-5b");
  }
  return c;
}

double wan_dit_forward_flops(const WanDiTConfig& c, int64_t tokens, int64_t batch) {
  const double L = double(tokens), T = double(c.text_len), d = double(c.dim);
  const double patch = 2.0 * L * double(c.in_dim * c.patch_volume()) * d;
  const double text = 2.0 * T * (double(c.text_dim) * d + d * d);
  const double time = 2.0 * (double(c.freq_dim) * d + d * d + d * 6.0 * d);
  const double block = 2.0 * L * d * 3.0 * d                     // q, k, v
                       + 2.0 * 2.0 * L * L * d                   // q k^T and p v
                       + 2.0 * L * d * d                         // o
                       + 2.0 * L * d * d                         // cross q
                       + 2.0 * T * d * 2.0 * d                   // cross k, v
                       + 2.0 * 2.0 * L * T * d                   // cross attention
                       + 2.0 * L * d * d                         // cross o
                       + 2.0 * 2.0 * L * d * double(c.ffn_dim);  // ffn
  const double head = 2.0 * L * d * double(c.out_dim * c.patch_volume());
  return double(batch) * (patch + text + time + double(c.num_layers) * block + head);
}

// ---- key layouts --------------------------------------------------------------------------------

WanDiTKeyMap WanDiTKeyMap::detect(const std::vector<std::string>& names, WanDiTLayout layout,
                                  const std::optional<std::string>& prefix,
                                  const std::vector<std::string>& ignore_prefixes) {
  std::vector<std::string> considered;
  for (const auto& n : names) {
    const bool skip = std::any_of(ignore_prefixes.begin(), ignore_prefixes.end(),
                                  [&](const std::string& p) { return starts_with(n, p); });
    if (!skip) considered.push_back(n);
  }
  WanDiTKeyMap map;
  if (prefix) {
    map.prefix = *prefix;
  } else {
    std::optional<std::string> best;
    for (const auto& n : considered) {
      if (ends_with(n, kPatchWeight) && (!best || n.size() < best->size())) best = n;
    }
    if (!best) {
      throw Error(ErrorCategory::Format, "no Wan DiT weights found: no key ends in '" +
                                             std::string(kPatchWeight) + "' (" +
                                             std::to_string(considered.size()) + " keys, e.g. " +
                                             name_list(considered, 3) + ")");
    }
    map.prefix = best->substr(0, best->size() - std::string(kPatchWeight).size());
  }
  const std::set<std::string> present(considered.begin(), considered.end());
  if (layout == WanDiTLayout::Auto) {
    const bool scaled = std::any_of(considered.begin(), considered.end(), [](const std::string& n) {
      return ends_with(n, ".scale_weight");
    });
    if (present.count(map.prefix + kDiffusersMarker)) {
      layout = WanDiTLayout::Diffusers;
    } else if (!map.prefix.empty() || scaled) {
      layout = WanDiTLayout::ComfyUI;
    } else {
      layout = WanDiTLayout::Official;
    }
  }
  map.layout = layout;
  const auto canonical = [&](const std::string& rel) {
    return layout == WanDiTLayout::Diffusers ? diffusers_to_official(rel) : rel;
  };
  for (const auto& n : considered) {
    if (!starts_with(n, map.prefix)) continue;  // other components of a bundled checkpoint
    const std::string rel = n.substr(map.prefix.size());
    if (rel == "scaled_fp8" || ends_with(rel, ".scale_input")) {
      // fp8 markers: the weights are dequantised to the compute dtype, so inputs need no scale.
      map.ignored.push_back(n);
    } else if (ends_with(rel, ".scale_weight")) {
      const std::string base = rel.substr(0, rel.size() - std::string(".scale_weight").size());
      map.weight_scales[canonical(base + ".weight")] = n;
      map.fp8_scaled = true;
    } else {
      map.to_canonical[n] = canonical(rel);
    }
  }
  return map;
}

// ---- weights ------------------------------------------------------------------------------------

std::shared_ptr<WanDiT::Impl> WanDiT::Impl::allocate(const WanDiTConfig& c, at::Device device,
                                                     at::ScalarType dtype) {
  c.validate();
  auto impl = std::make_shared<Impl>();
  impl->config = c;
  impl->device = device;
  impl->dtype = dtype;
  const auto wopt = at::TensorOptions().device(device).dtype(dtype);
  const auto fopt = at::TensorOptions().device(device).dtype(at::kFloat);
  auto& params = impl->params;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, const at::Tensor& slot,
                       WanParamKind kind, int64_t fan_in) {
    params.push_back({name, std::move(shape), slot, kind, fan_in});
  };
  // `names` fused along the output rows (q, k, v -> one matmul), each [each, in].
  const auto linear = [&](const std::vector<std::string>& names, int64_t each, int64_t in,
                          const at::TensorOptions& opt) {
    const int64_t n = int64_t(names.size());
    WanLinear l{at::empty({n * each, in}, opt), at::empty({n * each}, opt)};
    for (int64_t i = 0; i < n; ++i) {
      add(names[size_t(i)] + ".weight", {each, in}, l.weight.narrow(0, i * each, each),
          WanParamKind::Matrix, in);
      add(names[size_t(i)] + ".bias", {each}, l.bias.narrow(0, i * each, each), WanParamKind::Bias,
          in);
    }
    return l;
  };
  const auto vec = [&](const std::string& name, WanParamKind kind) {
    at::Tensor t = at::empty({c.dim}, fopt);
    add(name, {c.dim}, t, kind, 1);
    return t;
  };

  const int64_t patch_in = c.in_dim * c.patch_volume();
  impl->patch = WanLinear{at::empty({c.dim, patch_in}, wopt), at::empty({c.dim}, wopt)};
  add("patch_embedding.weight",
      {c.dim, c.in_dim, c.patch_size[0], c.patch_size[1], c.patch_size[2]}, impl->patch.weight,
      WanParamKind::Matrix, patch_in);
  add("patch_embedding.bias", {c.dim}, impl->patch.bias, WanParamKind::Bias, patch_in);
  impl->text1 = linear({"text_embedding.0"}, c.dim, c.text_dim, wopt);
  impl->text2 = linear({"text_embedding.2"}, c.dim, c.dim, wopt);
  impl->time1 = linear({"time_embedding.0"}, c.dim, c.freq_dim, fopt);
  impl->time2 = linear({"time_embedding.2"}, c.dim, c.dim, fopt);
  impl->time_proj = linear({"time_projection.1"}, 6 * c.dim, c.dim, fopt);

  impl->blocks.resize(size_t(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    WanBlockWeights& b = impl->blocks[size_t(i)];
    const std::string p = wan_block_weight_name(i, "");
    b.modulation = at::empty({1, 1, 6, c.dim}, fopt);  // [1, 1, 6, dim]
    add(p + "modulation", {1, 6, c.dim}, b.modulation, WanParamKind::Modulation, 1);
    b.self_qkv =
        linear({p + "self_attn.q", p + "self_attn.k", p + "self_attn.v"}, c.dim, c.dim, wopt);
    b.self_o = linear({p + "self_attn.o"}, c.dim, c.dim, wopt);
    if (c.qk_norm) {
      b.self_norm_q = vec(p + "self_attn.norm_q.weight", WanParamKind::NormWeight);
      b.self_norm_k = vec(p + "self_attn.norm_k.weight", WanParamKind::NormWeight);
    }
    if (c.cross_attn_norm) {
      b.norm3_weight = vec(p + "norm3.weight", WanParamKind::NormWeight);
      b.norm3_bias = vec(p + "norm3.bias", WanParamKind::NormBias);
    }
    b.cross_q = linear({p + "cross_attn.q"}, c.dim, c.dim, wopt);
    b.cross_kv = linear({p + "cross_attn.k", p + "cross_attn.v"}, c.dim, c.dim, wopt);
    b.cross_o = linear({p + "cross_attn.o"}, c.dim, c.dim, wopt);
    if (c.qk_norm) {
      b.cross_norm_q = vec(p + "cross_attn.norm_q.weight", WanParamKind::NormWeight);
      b.cross_norm_k = vec(p + "cross_attn.norm_k.weight", WanParamKind::NormWeight);
    }
    b.ffn1 = linear({p + "ffn.0"}, c.ffn_dim, c.dim, wopt);
    b.ffn2 = linear({p + "ffn.2"}, c.dim, c.ffn_dim, wopt);
  }
  impl->head_modulation = at::empty({1, 1, 2, c.dim}, fopt);  // [1, 1, 2, dim]
  add("head.modulation", {1, 2, c.dim}, impl->head_modulation, WanParamKind::Modulation, 1);
  impl->head = linear({"head.head"}, c.out_dim * c.patch_volume(), c.dim, fopt);
  impl->rope = WanDiT::rope_table(c.head_dim());
  return impl;
}

WanDiT::WanDiT(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const WanDiTConfig& WanDiT::config() const {
  return impl_->config;
}
at::Device WanDiT::device() const {
  return impl_->device;
}
at::ScalarType WanDiT::compute_dtype() const {
  return impl_->dtype;
}

int64_t WanDiT::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->params) n += p.slot.numel();
  return n;
}

int64_t WanDiT::weight_bytes() const {
  int64_t n = 0;
  for (const auto& p : impl_->params) n += p.slot.numel() * int64_t(p.slot.element_size());
  return n;
}

std::vector<std::pair<std::string, at::Tensor>> WanDiT::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : impl_->params) out.emplace_back(p.name, p.slot.view(p.shape));
  return out;
}

WanDiT WanDiT::random(const WanDiTConfig& config, const WanDiTLoadOptions& options, uint64_t seed) {
  c10::InferenceMode guard;
  auto impl = Impl::allocate(config, tensors::torch_device(options.device),
                             tensors::torch_dtype(options.dtype));
  at::manual_seed(seed);
  for (auto& p : impl->params) {
    switch (p.kind) {
      case WanParamKind::Matrix:
        p.slot.normal_(0.0, 1.0 / std::sqrt(double(p.fan_in)));
        break;
      case WanParamKind::Bias:
        p.slot.normal_(0.0, 0.02);
        break;
      case WanParamKind::Modulation:
        p.slot.normal_(0.0, 0.1);
        break;
      case WanParamKind::NormWeight:
        p.slot.fill_(1.0);
        break;
      case WanParamKind::NormBias:
        p.slot.zero_();
        break;
    }
  }
  return WanDiT(std::move(impl));
}

WanDiT WanDiT::load(const tensors::Checkpoint& weights, const WanDiTLoadOptions& options) {
  const std::string file =
      weights.files().empty() ? std::string("checkpoint") : weights.files().front().string();
  const WanDiTKeyMap keys = WanDiTKeyMap::detect(weights.names(), options.layout, options.prefix,
                                                 options.ignore_prefixes);
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, std::string> source_of;  // canonical -> checkpoint key
  for (const auto& [source, canonical] : keys.to_canonical) {
    if (!source_of.emplace(canonical, source).second) {
      throw Error(ErrorCategory::Format,
                  "keys '" + source_of[canonical] + "' and '" + source + "' both map to '" +
                      canonical + "'",
                  file);
    }
    shapes[canonical] = weights.info(source).shape;
  }
  const WanDiTConfig config = WanDiTConfig::from_weights(shapes, options.hints);

  c10::InferenceMode guard;
  auto impl = Impl::allocate(config, tensors::torch_device(options.device),
                             tensors::torch_dtype(options.dtype));

  std::set<std::string> expected;
  std::vector<std::string> missing, unexpected;
  for (const auto& p : impl->params) {
    expected.insert(p.name);
    if (!shapes.count(p.name)) missing.push_back(p.name);
  }
  for (const auto& [canonical, source] : source_of) {
    if (!expected.count(canonical)) unexpected.push_back(source);
  }
  for (const auto& [canonical, scale] : keys.weight_scales) {
    if (!expected.count(canonical)) unexpected.push_back(scale);
  }
  if (!missing.empty() || !unexpected.empty()) {
    std::string message = "the weights do not match a Wan DiT with " +
                          std::to_string(config.num_layers) + " layers, dim " +
                          std::to_string(config.dim) + " (" + to_string(keys.layout) + " layout";
    if (!keys.prefix.empty()) message += ", prefix '" + keys.prefix + "'";
    message += ")";
    if (!missing.empty()) {
      message += "; missing " + std::to_string(missing.size()) + ": " + name_list(missing);
    }
    if (!unexpected.empty()) {
      message += "; unexpected " + std::to_string(unexpected.size()) + ": " + name_list(unexpected);
    }
    throw Error(ErrorCategory::Format, message, file);
  }

  for (auto& p : impl->params) {
    const std::string& source = source_of.at(p.name);
    const auto& shape = shapes.at(p.name);
    if (shape != p.shape) {
      throw Error(ErrorCategory::Format,
                  "tensor '" + source + "' has shape " + c10::str(c10::IntArrayRef(shape)) +
                      "; expected " + c10::str(c10::IntArrayRef(p.shape)) + " for this model",
                  file);
    }
    at::Tensor value = weights.load(source);
    const auto scale = keys.weight_scales.find(p.name);
    if (scale != keys.weight_scales.end()) {
      // fp8 "scaled" files: weight = dequantised fp8 * scale_weight.
      value = value.to(at::kFloat) * weights.load(scale->second, at::kFloat);
    }
    if (!value.is_floating_point()) {
      throw Error(ErrorCategory::Format,
                  "tensor '" + source + "' is not floating point (" +
                      std::string(c10::toString(value.scalar_type())) + ")",
                  file);
    }
    p.slot.copy_(value.reshape(p.slot.sizes()));
  }
  spdlog::info("Wan DiT: {} layers, dim {}, {} heads, {} parameters ({} layout{}{})",
               config.num_layers, config.dim, config.num_heads, WanDiT(impl).parameter_count(),
               to_string(keys.layout), keys.prefix.empty() ? "" : ", prefix " + keys.prefix,
               keys.fp8_scaled ? ", fp8 scaled" : "");
  return WanDiT(std::move(impl));
}

}  // namespace reelforge::models
