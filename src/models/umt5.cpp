#include "reelforge/models/umt5.hpp"

#include <c10/util/StringUtil.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace reelforge::models {
namespace {

constexpr double kNormEps = 1e-6;  // T5LayerNorm's eps

// Per-layer weights, in the order of UMT5Encoder::Layer.
enum class LayerWeight { Norm1, Q, K, V, O, Pos, Norm2, Gate, Fc1, Fc2 };
constexpr LayerWeight kLayerWeights[] = {
    LayerWeight::Norm1, LayerWeight::Q,     LayerWeight::K,    LayerWeight::V,   LayerWeight::O,
    LayerWeight::Pos,   LayerWeight::Norm2, LayerWeight::Gate, LayerWeight::Fc1, LayerWeight::Fc2};

const char* wan_suffix(LayerWeight w) {
  switch (w) {
    case LayerWeight::Norm1:
      return "norm1.weight";
    case LayerWeight::Q:
      return "attn.q.weight";
    case LayerWeight::K:
      return "attn.k.weight";
    case LayerWeight::V:
      return "attn.v.weight";
    case LayerWeight::O:
      return "attn.o.weight";
    case LayerWeight::Pos:
      return "pos_embedding.embedding.weight";
    case LayerWeight::Norm2:
      return "norm2.weight";
    case LayerWeight::Gate:
      return "ffn.gate.0.weight";
    case LayerWeight::Fc1:
      return "ffn.fc1.weight";
    case LayerWeight::Fc2:
      return "ffn.fc2.weight";
  }
  return "";
}

const char* hf_suffix(LayerWeight w) {
  switch (w) {
    case LayerWeight::Norm1:
      return "layer.0.layer_norm.weight";
    case LayerWeight::Q:
      return "layer.0.SelfAttention.q.weight";
    case LayerWeight::K:
      return "layer.0.SelfAttention.k.weight";
    case LayerWeight::V:
      return "layer.0.SelfAttention.v.weight";
    case LayerWeight::O:
      return "layer.0.SelfAttention.o.weight";
    case LayerWeight::Pos:
      return "layer.0.SelfAttention.relative_attention_bias.weight";
    case LayerWeight::Norm2:
      return "layer.1.layer_norm.weight";
    case LayerWeight::Gate:
      return "layer.1.DenseReluDense.wi_0.weight";
    case LayerWeight::Fc1:
      return "layer.1.DenseReluDense.wi_1.weight";
    case LayerWeight::Fc2:
      return "layer.1.DenseReluDense.wo.weight";
  }
  return "";
}

std::string block_prefix(const UMT5WeightNames& names, int64_t layer) {
  return names.prefix + (names.layout == UMT5KeyLayout::Wan ? "blocks." : "encoder.block.") +
         std::to_string(layer) + ".";
}

std::string layer_key(const UMT5WeightNames& names, int64_t layer, LayerWeight w) {
  return block_prefix(names, layer) +
         (names.layout == UMT5KeyLayout::Wan ? wan_suffix(w) : hf_suffix(w));
}

std::string final_norm_key(const UMT5WeightNames& names) {
  return names.prefix +
         (names.layout == UMT5KeyLayout::Wan ? "norm.weight" : "encoder.final_layer_norm.weight");
}

// The embedding key actually present (HF files may carry `shared.weight`,
// `encoder.embed_tokens.weight` or both); the first candidate when neither is there.
std::string embedding_key(const tensors::Checkpoint& ckpt, const UMT5WeightNames& names) {
  if (names.layout == UMT5KeyLayout::Wan) return names.prefix + "token_embedding.weight";
  const std::string shared = names.prefix + "shared.weight";
  const std::string embed = names.prefix + "encoder.embed_tokens.weight";
  if (!ckpt.contains(shared) && ckpt.contains(embed)) return embed;
  return shared;
}

// `x.weight` -> `x.scale_weight` (ComfyUI's per-tensor fp8 scale).
std::string scale_key(const std::string& weight_key) {
  const std::string suffix = ".weight";
  return weight_key.substr(0, weight_key.size() - suffix.size()) + ".scale_weight";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string describe_file(const tensors::Checkpoint& ckpt) {
  const auto files = ckpt.files();
  if (files.empty()) return "checkpoint";
  return files.front().string() + (files.size() > 1 ? " (+ shards)" : "");
}

const std::vector<int64_t>& shape_of(const tensors::Checkpoint& ckpt, const std::string& key) {
  if (!ckpt.contains(key)) {
    throw Error(ErrorCategory::Format,
                "umT5 weight '" + key + "' is missing from " + describe_file(ckpt), key);
  }
  return ckpt.info(key).shape;
}

// Number of layers = 1 + the largest block index among the keys, so a checkpoint with a hole in
// its blocks reports the missing keys instead of silently dropping the layers after the hole.
int64_t count_layers(const tensors::Checkpoint& ckpt, const UMT5WeightNames& names) {
  const std::string head =
      names.prefix + (names.layout == UMT5KeyLayout::Wan ? "blocks." : "encoder.block.");
  int64_t layers = 0;
  for (const auto& name : ckpt.names()) {
    if (!starts_with(name, head)) continue;
    const size_t begin = head.size();
    const size_t end = name.find('.', begin);
    if (end == std::string::npos || end == begin) continue;
    const std::string index = name.substr(begin, end - begin);
    if (!std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    if (index.size() > 6) continue;
    layers = std::max<int64_t>(layers, std::stoll(index) + 1);
  }
  return layers;
}

// The softmax runs in float32; masked keys get float32's lowest value, as in the reference
// (finfo(float32).min), so a fully masked row still gives a uniform distribution, not NaN.
constexpr float kMaskedLogit = std::numeric_limits<float>::lowest();

// T5LayerNorm in float32: x * rsqrt(mean(x^2) + eps) * weight, written into `out` (which may
// have the compute dtype). Same operation order as the reference.
void rms_norm_into(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight) {
  auto normed = x * at::rsqrt(x.square().mean(-1, /*keepdim=*/true) + kNormEps);
  at::mul_out(out, normed, weight);
}

}  // namespace

const char* to_string(UMT5KeyLayout layout) {
  switch (layout) {
    case UMT5KeyLayout::Wan:
      return "Wan";
    case UMT5KeyLayout::HuggingFace:
      return "Hugging Face";
  }
  return "?";
}

UMT5WeightNames UMT5WeightNames::detect(const tensors::Checkpoint& ckpt) {
  const std::string wan_anchor = "blocks.0.attn.q.weight";
  const std::string hf_anchor = "encoder.block.0.layer.0.SelfAttention.q.weight";
  std::vector<UMT5WeightNames> found;
  for (const auto& name : ckpt.names()) {
    for (const auto& [anchor, layout] : {std::pair{wan_anchor, UMT5KeyLayout::Wan},
                                         std::pair{hf_anchor, UMT5KeyLayout::HuggingFace}}) {
      if (!ends_with(name, anchor)) continue;
      std::string prefix = name.substr(0, name.size() - anchor.size());
      if (!prefix.empty() && prefix.back() != '.') continue;  // "self_attn.q" is not "attn.q"
      found.push_back({layout, prefix});
    }
  }
  if (found.empty()) {
    throw Error(ErrorCategory::Format,
                "no umT5 encoder weights found: expected a key ending in '" + wan_anchor +
                    "' (Wan layout) or '" + hf_anchor + "' (Hugging Face / ComfyUI layout); " +
                    std::to_string(ckpt.names().size()) + " tensors in the file",
                describe_file(ckpt));
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& f : found) {
      list += (list.empty() ? "" : ", ") + std::string(to_string(f.layout)) + " at prefix '" +
              f.prefix + "'";
    }
    throw Error(ErrorCategory::Format,
                "more than one umT5 encoder in one checkpoint (" + list +
                    "); pass a file holding exactly one",
                describe_file(ckpt));
  }
  return found.front();
}

UMT5Config UMT5Config::xxl() {
  UMT5Config c;
  c.vocab = 256384;
  c.dim = 4096;
  c.dim_attn = 4096;
  c.dim_ffn = 10240;
  c.num_heads = 64;
  c.num_layers = 24;
  c.num_buckets = 32;
  return c;
}

UMT5Config UMT5Config::from_weights(const tensors::Checkpoint& ckpt) {
  return from_weights(ckpt, UMT5WeightNames::detect(ckpt));
}

UMT5Config UMT5Config::from_weights(const tensors::Checkpoint& ckpt, const UMT5WeightNames& names) {
  auto need_2d = [&](const std::string& key) {
    const auto& shape = shape_of(ckpt, key);
    if (shape.size() != 2) {
      throw Error(ErrorCategory::Format,
                  "umT5 weight '" + key + "' has shape " + c10::str(c10::IntArrayRef(shape)) +
                      "; expected a matrix (2 dimensions)",
                  key);
    }
    return shape;
  };
  UMT5Config c;
  const auto emb = need_2d(embedding_key(ckpt, names));
  c.vocab = emb[0];
  c.dim = emb[1];
  const auto q = need_2d(layer_key(names, 0, LayerWeight::Q));
  c.dim_attn = q[0];
  const auto gate = need_2d(layer_key(names, 0, LayerWeight::Gate));
  c.dim_ffn = gate[0];
  const auto pos = need_2d(layer_key(names, 0, LayerWeight::Pos));
  c.num_buckets = pos[0];
  c.num_heads = pos[1];
  c.num_layers = count_layers(ckpt, names);
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(ErrorCategory::Format,
                "the umT5 weights describe an invalid encoder: " + e.message(),
                describe_file(ckpt));
  }
  return c;
}

int64_t UMT5Config::parameter_count() const {
  const int64_t per_layer =
      2 * dim + 4 * dim * dim_attn + num_buckets * num_heads + 3 * dim * dim_ffn;
  return vocab * dim + num_layers * per_layer + dim;
}

void UMT5Config::validate() const {
  auto positive = [](const char* field, int64_t value) {
    if (value <= 0) {
      throw Error(ErrorCategory::InvalidArgument,
                  std::string("umT5 ") + field + " " + std::to_string(value) + " must be positive");
    }
  };
  positive("vocab", vocab);
  positive("dim", dim);
  positive("dim_attn", dim_attn);
  positive("dim_ffn", dim_ffn);
  positive("num_heads", num_heads);
  positive("num_layers", num_layers);
  if (dim_attn % num_heads != 0) {
    throw Error(ErrorCategory::InvalidArgument, "umT5 dim_attn " + std::to_string(dim_attn) +
                                                    " is not divisible by num_heads " +
                                                    std::to_string(num_heads));
  }
  // Bidirectional buckets: half per direction, a quarter exact; the log branch needs >= 1.
  if (num_buckets < 4 || num_buckets % 2 != 0) {
    throw Error(ErrorCategory::InvalidArgument, "umT5 num_buckets " + std::to_string(num_buckets) +
                                                    " must be even and at least 4 (umT5 uses 32)");
  }
  if (max_distance <= num_buckets / 4) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 max_distance " + std::to_string(max_distance) +
                    " must exceed num_buckets/4 = " + std::to_string(num_buckets / 4));
  }
}

bool UMT5Config::operator==(const UMT5Config& o) const {
  return vocab == o.vocab && dim == o.dim && dim_attn == o.dim_attn && dim_ffn == o.dim_ffn &&
         num_heads == o.num_heads && num_layers == o.num_layers && num_buckets == o.num_buckets &&
         max_distance == o.max_distance;
}

at::Tensor umt5_relative_position_buckets(const at::Tensor& relative_positions, int64_t num_buckets,
                                          int64_t max_distance) {
  at::NoGradGuard no_grad;
  // Same operations, order and dtypes as T5RelativeEmbedding._relative_position_bucket with
  // bidirectional=True, on the CPU. Bucket edges sit where log(r/e)/log(d/e)*n is an exact integer
  // (r = 16, 32, 64, 128 for umT5), so the float32 log of the reference is kept rather than
  // re-derived in double: for umT5's 32 buckets both agree, other sizes need not.
  const at::Tensor rel = relative_positions.to(at::kCPU, at::kLong);
  const int64_t half = num_buckets / 2;
  at::Tensor buckets = rel.gt(0).to(at::kLong) * half;
  const at::Tensor r = rel.abs();
  const int64_t max_exact = half / 2;
  at::Tensor large =
      max_exact + (at::log(r.to(at::kFloat) / max_exact) /
                   std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                   (half - max_exact))
                      .to(at::kLong);
  large = at::minimum(large, at::full_like(large, half - 1));
  buckets += at::where(r < max_exact, r, large);
  return buckets;
}

UMT5Encoder::UMT5Encoder(UMT5Config config, c10::Device device, at::ScalarType dtype)
    : config_(std::move(config)), device_(device), dtype_(dtype) {}

namespace {

void check_dtype(at::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kBFloat16) {
    throw Error(ErrorCategory::Unsupported,
                std::string("umT5 compute dtype ") + c10::toString(dtype) +
                    " is not supported; valid: float32 (reference) or bfloat16 (float16 overflows "
                    "in T5's feed-forward)");
  }
}

}  // namespace

UMT5Encoder UMT5Encoder::load(const tensors::Checkpoint& ckpt, const UMT5LoadOptions& options) {
  check_dtype(options.dtype);
  at::NoGradGuard no_grad;
  const UMT5WeightNames names = UMT5WeightNames::detect(ckpt);
  const UMT5Config config = UMT5Config::from_weights(ckpt, names);
  UMT5Encoder enc(config, options.device, options.dtype);
  enc.report_.layout = names.layout;
  enc.report_.prefix = names.prefix;

  // Every expected key with its shape and whether it is kept in float32.
  struct Wanted {
    std::string key;
    std::vector<int64_t> shape;
    bool float32;
    at::Tensor* slot;
  };
  std::vector<Wanted> wanted;
  const auto& c = config;
  wanted.push_back({embedding_key(ckpt, names), {c.vocab, c.dim}, false, &enc.token_embedding_});
  enc.layers_.resize(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    Layer& l = enc.layers_[static_cast<size_t>(i)];
    auto add = [&](LayerWeight w, std::vector<int64_t> shape, bool f32, at::Tensor* slot) {
      wanted.push_back({layer_key(names, i, w), std::move(shape), f32, slot});
    };
    add(LayerWeight::Norm1, {c.dim}, true, &l.norm1);
    add(LayerWeight::Q, {c.dim_attn, c.dim}, false, &l.q);
    add(LayerWeight::K, {c.dim_attn, c.dim}, false, &l.k);
    add(LayerWeight::V, {c.dim_attn, c.dim}, false, &l.v);
    add(LayerWeight::O, {c.dim, c.dim_attn}, false, &l.o);
    add(LayerWeight::Pos, {c.num_buckets, c.num_heads}, true, &l.pos);
    add(LayerWeight::Norm2, {c.dim}, true, &l.norm2);
    add(LayerWeight::Gate, {c.dim_ffn, c.dim}, false, &l.gate);
    add(LayerWeight::Fc1, {c.dim_ffn, c.dim}, false, &l.fc1);
    add(LayerWeight::Fc2, {c.dim, c.dim_ffn}, false, &l.fc2);
  }
  wanted.push_back({final_norm_key(names), {c.dim}, true, &enc.final_norm_});

  // Check everything before loading anything, so a broken file fails fast with the full list.
  std::vector<std::string> missing;
  std::vector<std::string> mismatched;
  for (const auto& w : wanted) {
    if (!ckpt.contains(w.key)) {
      missing.push_back(w.key);
      continue;
    }
    const auto& info = ckpt.info(w.key);
    if (info.shape != w.shape) {
      mismatched.push_back(w.key + " is " + c10::str(c10::IntArrayRef(info.shape)) + ", expected " +
                           c10::str(c10::IntArrayRef(w.shape)));
    }
    using tensors::DType;
    const bool floating = info.dtype == DType::F32 || info.dtype == DType::F16 ||
                          info.dtype == DType::BF16 || info.dtype == DType::F64 ||
                          info.dtype == DType::F8_E4M3 || info.dtype == DType::F8_E5M2;
    if (!floating) {
      mismatched.push_back(w.key + " has dtype " + tensors::to_string(info.dtype) +
                           ", expected a floating-point type");
    }
  }
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    const size_t shown = std::min<size_t>(items.size(), 8);
    for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + items[i];
    if (items.size() > shown) out += ", ... (" + std::to_string(items.size() - shown) + " more)";
    return out;
  };
  if (!missing.empty()) {
    throw Error(ErrorCategory::Format,
                "umT5 checkpoint (" + std::string(to_string(names.layout)) + " layout, " +
                    std::to_string(c.num_layers) + " layers) is missing " +
                    std::to_string(missing.size()) + " of " + std::to_string(wanted.size()) +
                    " weights: " + join(missing),
                describe_file(ckpt));
  }
  if (!mismatched.empty()) {
    throw Error(ErrorCategory::Format,
                "umT5 checkpoint has " + std::to_string(mismatched.size()) +
                    " weight(s) that do not fit the encoder its embedding and first layer describe "
                    "(dim " +
                    std::to_string(c.dim) + ", dim_attn " + std::to_string(c.dim_attn) +
                    ", dim_ffn " + std::to_string(c.dim_ffn) + ", " + std::to_string(c.num_heads) +
                    " heads): " + join(mismatched),
                describe_file(ckpt));
  }

  // Keys that are not weights but are known and harmless.
  std::set<std::string> known;
  for (const auto& w : wanted) known.insert(w.key);
  if (names.layout == UMT5KeyLayout::HuggingFace) {
    known.insert(names.prefix + "shared.weight");
    known.insert(names.prefix + "encoder.embed_tokens.weight");
  }

  for (const auto& w : wanted) {
    const std::string skey = scale_key(w.key);
    const auto& info = ckpt.info(w.key);
    const bool fp8 = info.dtype == tensors::DType::F8_E4M3 || info.dtype == tensors::DType::F8_E5M2;
    const at::ScalarType target = w.float32 ? at::kFloat : options.dtype;
    at::Tensor t;
    if (ckpt.contains(skey)) {
      known.insert(skey);
      // ComfyUI's scaled fp8: weight = dequantised fp8 * scale_weight, multiplied in float32.
      at::Tensor scale = ckpt.load(skey, at::kFloat);
      t = ckpt.load(w.key, at::kFloat);
      if (scale.numel() == 1) {
        t = t * scale.reshape({});
      } else if (scale.numel() == w.shape[0]) {
        t = t * scale.reshape({w.shape[0], 1});  // per output channel
      } else {
        throw Error(ErrorCategory::Format,
                    "fp8 scale '" + skey + "' has " + std::to_string(scale.numel()) +
                        " values; expected 1 or one per output row (" + std::to_string(w.shape[0]) +
                        ")",
                    skey);
      }
      t = t.to(target);
      ++enc.report_.fp8_scaled;
    } else {
      if (fp8) spdlog::debug("umT5: fp8 weight {} has no scale_weight; using scale 1", w.key);
      t = ckpt.load(w.key, target);
    }
    *w.slot = t.to(options.device).contiguous();
  }

  // Everything else: ComfyUI's fp8 markers and input scales are expected companions; anything
  // left is reported so a wrong file (a DiT, a full T5 with decoder) does not load silently.
  for (const auto& name : ckpt.names()) {
    if (known.count(name)) continue;
    bool ignored = false;
    for (const auto& p : options.ignore_prefixes) ignored = ignored || starts_with(name, p);
    if (ignored) continue;
    if (name == names.prefix + "scaled_fp8" || ends_with(name, ".scale_input") ||
        name == names.prefix + "spiece_model") {
      continue;
    }
    enc.report_.unexpected.push_back(name);
  }
  if (!enc.report_.unexpected.empty()) {
    const std::string msg =
        "umT5 checkpoint has " + std::to_string(enc.report_.unexpected.size()) +
        " tensor(s) that are not encoder weights: " + join(enc.report_.unexpected);
    if (options.unexpected == UnexpectedKeys::Error) {
      throw Error(ErrorCategory::Format, msg, describe_file(ckpt));
    }
    spdlog::warn("{} ({})", msg, describe_file(ckpt));
  }
  spdlog::debug("umT5: loaded {} layers ({} layout, {} params, {} fp8-scaled) on {} as {}",
                c.num_layers, to_string(names.layout), c.parameter_count(), enc.report_.fp8_scaled,
                options.device.str(), c10::toString(options.dtype));
  return enc;
}

UMT5Encoder UMT5Encoder::random(const UMT5Config& config, const UMT5LoadOptions& options,
                                uint64_t seed) {
  config.validate();
  check_dtype(options.dtype);
  at::NoGradGuard no_grad;
  UMT5Encoder enc(config, options.device, options.dtype);
  // A local generator keeps the draw reproducible without touching the global seed. LibTorch
  // has no device-independent generator constructor, so other devices use their default one.
  c10::optional<at::Generator> gen;
  if (options.device.is_cpu()) gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Float32 scratch for low-precision targets: LibTorch's CPU normal_ has no vectorised bf16
  // path (drawing the 1e9-entry XXL embedding directly in bf16 takes minutes), so those tensors
  // are filled in slices through this bounded buffer instead of a full float32 copy.
  constexpr int64_t kScratchElements = int64_t(1) << 22;  // 16 MiB of float32
  at::Tensor scratch;
  auto draw = [&](std::vector<int64_t> shape, bool f32, double mean, double std) {
    // [shape...]: a single allocation in the final dtype on the final device.
    const at::ScalarType dtype = f32 ? at::kFloat : options.dtype;
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype).device(options.device));
    if (dtype == at::kFloat) {
      t.normal_(mean, std, gen);
      return t;
    }
    at::Tensor flat = t.view({-1});  // [numel]
    for (int64_t begin = 0; begin < flat.numel(); begin += kScratchElements) {
      const int64_t count = std::min(kScratchElements, flat.numel() - begin);
      if (!scratch.defined())
        scratch = at::empty({kScratchElements}, t.options().dtype(at::kFloat));
      at::Tensor part = scratch.slice(0, 0, count);  // [count]
      part.normal_(mean, std, gen);
      flat.slice(0, begin, begin + count).copy_(part);
    }
    return t;
  };
  // The fixtures' distributions: s = clamp(1/sqrt(fan_in), 0.05, 0.2).
  auto std_for = [](int64_t fan_in) {
    return std::clamp(1.0 / std::sqrt(static_cast<double>(fan_in)), 0.05, 0.2);
  };
  const auto& c = config;
  enc.token_embedding_ = draw({c.vocab, c.dim}, false, 0.0, 1.0);
  enc.layers_.resize(static_cast<size_t>(c.num_layers));
  for (auto& l : enc.layers_) {
    l.norm1 = draw({c.dim}, true, 1.0, 0.1);
    l.q = draw({c.dim_attn, c.dim}, false, 0.0, std_for(c.dim));
    l.k = draw({c.dim_attn, c.dim}, false, 0.0, std_for(c.dim));
    l.v = draw({c.dim_attn, c.dim}, false, 0.0, std_for(c.dim));
    l.o = draw({c.dim, c.dim_attn}, false, 0.0, std_for(c.dim_attn));
    l.pos = draw({c.num_buckets, c.num_heads}, true, 0.0, 0.5);
    l.norm2 = draw({c.dim}, true, 1.0, 0.1);
    l.gate = draw({c.dim_ffn, c.dim}, false, 0.0, std_for(c.dim));
    l.fc1 = draw({c.dim_ffn, c.dim}, false, 0.0, std_for(c.dim));
    l.fc2 = draw({c.dim, c.dim_ffn}, false, 0.0, std_for(c.dim_ffn));
  }
  enc.final_norm_ = draw({c.dim}, true, 1.0, 0.1);
  return enc;
}

size_t UMT5Encoder::parameter_count() const {
  size_t n = static_cast<size_t>(token_embedding_.numel() + final_norm_.numel());
  for (const auto& l : layers_) {
    for (const at::Tensor* t :
         {&l.norm1, &l.q, &l.k, &l.v, &l.o, &l.pos, &l.norm2, &l.gate, &l.fc1, &l.fc2}) {
      n += static_cast<size_t>(t->numel());
    }
  }
  return n;
}

std::vector<std::pair<std::string, at::Tensor>> UMT5Encoder::named_parameters() const {
  const UMT5WeightNames names{UMT5KeyLayout::Wan, ""};
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.emplace_back(names.prefix + "token_embedding.weight", token_embedding_);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const Layer& l = layers_[static_cast<size_t>(i)];
    const at::Tensor* tensors[] = {&l.norm1, &l.q,     &l.k,    &l.v,   &l.o,
                                   &l.pos,   &l.norm2, &l.gate, &l.fc1, &l.fc2};
    for (size_t w = 0; w < std::size(kLayerWeights); ++w) {
      out.emplace_back(layer_key(names, i, kLayerWeights[w]), *tensors[w]);
    }
  }
  out.emplace_back(final_norm_key(names), final_norm_);
  return out;
}

at::Tensor UMT5Encoder::relative_buckets(int64_t length) const {
  // rel[q, k] = k - q  // [L, L]
  const at::Tensor pos = at::arange(length, at::kLong);
  const at::Tensor rel = pos.unsqueeze(0) - pos.unsqueeze(1);
  return umt5_relative_position_buckets(rel, config_.num_buckets, config_.max_distance);
}

at::Tensor UMT5Encoder::position_bias(int64_t layer, int64_t length) const {
  if (layer < 0 || layer >= config_.num_layers) {
    throw Error(ErrorCategory::InvalidArgument, "umT5 layer " + std::to_string(layer) +
                                                    " does not exist; valid: 0.." +
                                                    std::to_string(config_.num_layers - 1));
  }
  at::NoGradGuard no_grad;
  const at::Tensor buckets = relative_buckets(length).to(device_);
  // [L, L, H] -> [1, H, L, L]
  return at::embedding(layers_[static_cast<size_t>(layer)].pos, buckets)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .contiguous();
}

void check_umt5_inputs(const at::Tensor& ids, const at::Tensor& mask) {
  if (!ids.defined() || ids.dim() != 2) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 ids must be a [batch, length] tensor; got " +
                    (ids.defined() ? c10::str(ids.sizes()) : std::string("none")));
  }
  if (!mask.defined() || mask.sizes() != ids.sizes()) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 mask must have the shape of ids " + c10::str(ids.sizes()) + "; got " +
                    (mask.defined() ? c10::str(mask.sizes()) : std::string("none")));
  }
  if (at::isFloatingType(ids.scalar_type()) || ids.scalar_type() == at::kBool) {
    throw Error(
        ErrorCategory::InvalidArgument,
        std::string("umT5 ids must be an integer tensor; got ") + c10::toString(ids.scalar_type()));
  }
  if (ids.size(0) == 0 || ids.size(1) == 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 ids " + c10::str(ids.sizes()) +
                    " are empty; need at least one prompt of at least one token (the "
                    "tokenizer always adds </s>)");
  }
}

at::Tensor UMT5Encoder::forward(const at::Tensor& ids_in, const at::Tensor& mask_in,
                                const CancellationToken& cancel, UMT5Trace* trace) const {
  // Inputs come from a tokenizer or a caller: validate them here rather than letting ATen fail.
  check_umt5_inputs(ids_in, mask_in);
  const int64_t batch = ids_in.size(0);
  const int64_t length = ids_in.size(1);
  at::NoGradGuard no_grad;
  const at::Tensor ids = ids_in.to(device_, at::kLong).contiguous();
  const at::Tensor mask = mask_in.to(device_);
  {
    const int64_t lo = ids.min().item<int64_t>();
    const int64_t hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab) {
      throw Error(ErrorCategory::InvalidArgument,
                  "umT5 token id " + std::to_string(lo < 0 ? lo : hi) +
                      " is outside the vocabulary; valid: 0.." + std::to_string(config_.vocab - 1) +
                      " (is the tokenizer the one of this model?)");
    }
  }

  const auto& c = config_;
  const int64_t heads = c.num_heads;
  const int64_t hd = c.head_dim();
  const int64_t n = batch * length;
  const auto cdt = at::TensorOptions().dtype(dtype_).device(device_);
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device_);
  const bool is_f32 = dtype_ == at::kFloat;

  // The residual stream stays float32 in every mode; matmul inputs use the compute dtype.
  // at::embedding gathers into a fresh tensor, so x never aliases the table.
  at::Tensor x = at::embedding(token_embedding_, ids).to(at::kFloat).view({n, c.dim});  // [N, D]
  if (trace) {
    trace->embedded = x.view({batch, length, c.dim}).clone();
    trace->layer_outputs.clear();
  }
  const at::Tensor key_masked = mask.eq(0).view({batch, 1, 1, length});        // [B, 1, 1, L]
  const at::Tensor buckets = relative_buckets(length).view({-1}).to(device_);  // [L*L]

  // Buffers reused by every layer: fresh multi-megabyte allocations page-fault on each use.
  at::Tensor h = at::empty({n, c.dim}, cdt);       // normed input [N, D]
  at::Tensor q = at::empty({n, c.dim_attn}, cdt);  // [N, A]
  at::Tensor k = at::empty({n, c.dim_attn}, cdt);
  at::Tensor v = at::empty({n, c.dim_attn}, cdt);
  at::Tensor qh = at::empty({batch, heads, length, hd}, cdt);  // [B, H, L, C]
  at::Tensor kh = at::empty({batch, heads, length, hd}, cdt);
  at::Tensor vh = at::empty({batch, heads, length, hd}, cdt);
  at::Tensor logits_c = at::empty({batch * heads, length, length}, cdt);  // [B*H, L, L]
  at::Tensor logits = is_f32 ? logits_c : at::empty({batch * heads, length, length}, f32);
  at::Tensor probs = at::empty({batch * heads, length, length}, f32);
  at::Tensor probs_c = is_f32 ? probs : at::empty({batch * heads, length, length}, cdt);
  at::Tensor bias = at::empty({length * length, heads}, f32);      // [L*L, H]
  at::Tensor ctx_h = at::empty({batch * heads, length, hd}, cdt);  // [B*H, L, C]
  at::Tensor ctx = at::empty({batch, length, heads, hd}, cdt);     // [B, L, H, C]
  at::Tensor proj = at::empty({n, c.dim}, cdt);                    // o / fc2 output [N, D]
  at::Tensor ffn_a = at::empty({n, c.dim_ffn}, cdt);               // [N, F]
  at::Tensor ffn_g = at::empty({n, c.dim_ffn}, cdt);

  auto split_heads = [&](at::Tensor& dst, const at::Tensor& src) {
    dst.copy_(src.view({batch, length, heads, hd}).permute({0, 2, 1, 3}));  // [B, H, L, C]
  };

  for (const Layer& l : layers_) {
    cancel.throw_if_cancelled("umT5 text encoding");
    // Self-attention: x += o(softmax(q k^T + pos_bias + mask) v), without 1/sqrt(d).
    rms_norm_into(h, x, l.norm1);
    at::mm_out(q, h, l.q.t());
    at::mm_out(k, h, l.k.t());
    at::mm_out(v, h, l.v.t());
    split_heads(qh, q);
    split_heads(kh, k);
    split_heads(vh, v);
    at::bmm_out(logits_c, qh.view({batch * heads, length, hd}),
                kh.view({batch * heads, length, hd}).transpose(1, 2));
    if (!is_f32) logits.copy_(logits_c);
    at::index_select_out(bias, l.pos, 0, buckets);
    auto logits4 = logits.view({batch, heads, length, length});  // [B, H, L, L]
    logits4.add_(bias.view({length, length, heads}).permute({2, 0, 1}));
    logits4.masked_fill_(key_masked, kMaskedLogit);
    at::_softmax_out(probs, logits, -1, false);
    if (!is_f32) probs_c.copy_(probs);
    at::bmm_out(ctx_h, probs_c, vh.view({batch * heads, length, hd}));
    ctx.copy_(ctx_h.view({batch, heads, length, hd}).permute({0, 2, 1, 3}));  // [B, L, H, C]
    at::mm_out(proj, ctx.view({n, c.dim_attn}), l.o.t());
    x.add_(proj);

    // Gated FFN: x += fc2(fc1(h) * gelu_tanh(gate(h))).
    rms_norm_into(h, x, l.norm2);
    at::mm_out(ffn_a, h, l.fc1.t());
    at::mm_out(ffn_g, h, l.gate.t());
    at::gelu_(ffn_g, "tanh");
    ffn_a.mul_(ffn_g);
    at::mm_out(proj, ffn_a, l.fc2.t());
    x.add_(proj);
    if (trace) trace->layer_outputs.push_back(x.view({batch, length, c.dim}).clone());
  }
  at::Tensor out = at::empty({n, c.dim}, f32);
  rms_norm_into(out, x, final_norm_);
  return out.view({batch, length, c.dim});  // [B, L, D]
}

std::vector<at::Tensor> UMT5Encoder::encode(const at::Tensor& ids, const at::Tensor& mask,
                                            const CancellationToken& cancel) const {
  return real_rows(forward(ids, mask, cancel), mask);
}

std::vector<at::Tensor> UMT5Encoder::real_rows(const at::Tensor& out, const at::Tensor& mask) {
  if (out.dim() != 3 || mask.dim() != 2 || out.size(0) != mask.size(0) ||
      out.size(1) != mask.size(1)) {
    throw Error(ErrorCategory::InvalidArgument,
                "umT5 output " + c10::str(out.sizes()) + " and mask " + c10::str(mask.sizes()) +
                    " do not match; expected [B, L, dim] and [B, L]");
  }
  at::NoGradGuard no_grad;
  // As T5EncoderModel.__call__: the first sum(mask) rows per prompt (the tokenizer's masks are
  // a run of ones followed by zeros).
  const at::Tensor lens = mask.to(at::kCPU).gt(0).sum(1).to(at::kLong);  // [B]
  std::vector<at::Tensor> contexts;
  contexts.reserve(static_cast<size_t>(out.size(0)));
  for (int64_t b = 0; b < out.size(0); ++b) {
    contexts.push_back(out[b].slice(0, 0, lens[b].item<int64_t>()).clone());  // [len_b, D]
  }
  return contexts;
}

}  // namespace reelforge::models
