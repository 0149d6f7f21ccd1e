// The Wan VAEs' configs, checkpoint key layouts and weight loading: the architecture is built
// once from the config, asking a source (a checkpoint's state dict or a random generator) for
// each parameter by its official name and shape.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "reelforge/core/error.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/state_dict.hpp"
#include "wan_vae_impl.hpp"

namespace reelforge::models {

using vae::Coder;
using vae::Conv;
using vae::GroupShortcut;
using vae::Layer;
using vae::LayerKind;
using vae::ResampleMode;
using vae::RMSNorm;
using vae::Stage;

namespace {

Error format_error(const std::string& message, const std::string& context = {}) {
  return Error(ErrorCategory::Format, "Wan VAE weights: " + message, context);
}

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Published latent statistics, copied from the reference wrappers: Wan2.1 wan/modules/vae.py
// class WanVAE (commit 9737cba) and Wan2.2 wan/modules/vae2_2.py class Wan2_2_VAE.
const std::vector<double> kMean21 = {-0.7571, -0.7089, -0.9113, 0.1075,  -0.1745, 0.9653,
                                     -0.1517, 1.5508,  0.4134,  -0.0715, 0.5517,  -0.3632,
                                     -0.1922, -0.9497, 0.2503,  -0.2921};
const std::vector<double> kStd21 = {2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160};
const std::vector<double> kMean22 = {
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174,  0.1838,  0.1557,  -0.1382, 0.0542,
    0.2813,  0.0891,  0.1570,  -0.0098, 0.0375,  -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
    0.2665,  -0.2108, -0.2158, 0.2502,  -0.2055, -0.0322, 0.1109,  0.1567,  -0.0729, 0.0899,
    -0.2799, -0.1230, -0.0313, -0.1649, 0.0117,  0.0723,  -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152,  0.1957,  0.1433,  -0.2944, 0.3573,  -0.0548, -0.1681, -0.0667};
const std::vector<double> kStd22 = {
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744};

// ---- architecture walk ------------------------------------------------------------------------

// Visits every parameter of the architecture in build order.
class Builder {
 public:
  Builder(const WanVAEConfig& c, const WanVAE::Impl::Source& source, at::Device device,
          at::ScalarType dtype)
      : c_(c), source_(source), device_(device), dtype_(dtype) {}

  std::vector<std::pair<std::string, at::Tensor>> parameters;

  // The source's tensor for `name`; `record` is what the model keeps (listed by
  // named_parameters(), counted by weight_bytes()).
  at::Tensor get(const std::string& name, std::vector<int64_t> shape) {
    return source_(name, std::move(shape));
  }
  void record(const std::string& name, const at::Tensor& t) {
    if (t.defined()) parameters.emplace_back(name, t);
  }
  // A conv / linear parameter in the compute dtype on the device.
  at::Tensor weight(const std::string& name, std::vector<int64_t> shape) {
    at::Tensor t = get(name, std::move(shape));
    if (t.defined()) t = t.to(device_, dtype_);
    record(name, t);
    return t;
  }
  Conv conv3(const std::string& p, int64_t out, int64_t in, std::vector<int64_t> k) {
    std::vector<int64_t> shape{out, in};
    shape.insert(shape.end(), k.begin(), k.end());
    Conv conv{weight(p + ".weight", shape), weight(p + ".bias", {out})};
    if (conv.weight.defined() && conv.weight.dim() == 4) conv.weight = conv.weight.unsqueeze(2);
    return conv;
  }
  RMSNorm norm(const std::string& name, int64_t ch, bool images) {
    at::Tensor g =
        get(name, images ? std::vector<int64_t>{ch, 1, 1} : std::vector<int64_t>{ch, 1, 1, 1});
    RMSNorm n;
    if (g.defined()) g = g.to(device_, at::kFloat);
    record(name, g);
    if (g.defined()) {
      n.scale = g.to(device_, at::kFloat).reshape({1, ch, 1, 1, 1}).mul(std::sqrt(double(ch)));
    }
    return n;
  }
  Layer residual(const std::string& p, int64_t in, int64_t out) {
    Layer l;
    l.kind = LayerKind::Residual;
    l.norm1 = norm(p + ".residual.0.gamma", in, false);
    l.conv1 = conv3(p + ".residual.2", out, in, {3, 3, 3});
    l.norm2 = norm(p + ".residual.3.gamma", out, false);
    l.conv2 = conv3(p + ".residual.6", out, out, {3, 3, 3});
    if (in != out) {
      l.has_shortcut = true;
      l.shortcut = conv3(p + ".shortcut", out, in, {1, 1, 1});
    }
    return l;
  }
  Layer attention(const std::string& p, int64_t ch) {
    Layer l;
    l.kind = LayerKind::Attention;
    l.norm = norm(p + ".norm.gamma", ch, true);
    const at::Tensor qkv = weight(p + ".to_qkv.weight", {3 * ch, ch, 1, 1});
    l.qkv_weight = qkv.defined() ? qkv.reshape({3 * ch, ch}) : qkv;
    l.qkv_bias = weight(p + ".to_qkv.bias", {3 * ch});
    const at::Tensor proj = weight(p + ".proj.weight", {ch, ch, 1, 1});
    l.proj_weight = proj.defined() ? proj.reshape({ch, ch}) : proj;
    l.proj_bias = weight(p + ".proj.bias", {ch});
    return l;
  }
  Layer resample(const std::string& p, int64_t ch, ResampleMode mode) {
    Layer l;
    l.kind = LayerKind::Resample;
    l.mode = mode;
    const bool up = mode == ResampleMode::Up2D || mode == ResampleMode::Up3D;
    // 2.1's upsampling conv halves the channels; 2.2's keeps them.
    const int64_t out = up && c_.version == WanVAEVersion::V2_1 ? ch / 2 : ch;
    l.spatial = conv3(p + ".resample.1", out, ch, {3, 3});
    if (mode == ResampleMode::Up3D) l.time_conv = conv3(p + ".time_conv", 2 * ch, ch, {3, 1, 1});
    if (mode == ResampleMode::Down3D) l.time_conv = conv3(p + ".time_conv", ch, ch, {3, 1, 1});
    return l;
  }
  void middle(Coder& coder, const std::string& p, int64_t ch) {
    coder.middle.push_back(residual(p + ".middle.0", ch, ch));
    coder.middle.push_back(attention(p + ".middle.1", ch));
    coder.middle.push_back(residual(p + ".middle.2", ch, ch));
  }

  Coder encoder() {
    Coder e;
    e.decoder = false;
    const int64_t n = int64_t(c_.dim_mult.size());
    std::vector<int64_t> dims{c_.dim};
    for (int64_t m : c_.dim_mult) dims.push_back(c_.dim * m);
    e.conv_in = conv3("encoder.conv1", dims[0], c_.io_channels(), {3, 3, 3});
    double scale = 1.0;
    int64_t flat = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t in = dims[size_t(i)];
      const int64_t out = dims[size_t(i) + 1];
      const bool t_down =
          i < int64_t(c_.temporal_downsample.size()) && c_.temporal_downsample[size_t(i)];
      const bool down = i != n - 1;
      const ResampleMode mode = t_down ? ResampleMode::Down3D : ResampleMode::Down2D;
      Stage stage;
      if (c_.version == WanVAEVersion::V2_1) {
        for (int64_t r = 0; r < c_.num_res_blocks; ++r) {
          stage.layers.push_back(
              residual("encoder.downsamples." + std::to_string(flat++), in, out));
          if (has_attention(scale)) {
            stage.layers.push_back(attention("encoder.downsamples." + std::to_string(flat++), out));
          }
          in = out;
        }
        if (down) {
          stage.layers.push_back(
              resample("encoder.downsamples." + std::to_string(flat++), out, mode));
          scale /= 2.0;
        }
      } else {
        const std::string p = "encoder.downsamples." + std::to_string(i) + ".downsamples.";
        stage.shortcut = GroupShortcut{true, false, in, out, t_down ? 2 : 1, down ? 2 : 1};
        int64_t j = 0;
        for (int64_t r = 0; r < c_.num_res_blocks; ++r, ++j) {
          stage.layers.push_back(residual(p + std::to_string(j), in, out));
          in = out;
        }
        if (down) stage.layers.push_back(resample(p + std::to_string(j), out, mode));
      }
      e.stages.push_back(std::move(stage));
    }
    const int64_t out = dims.back();
    middle(e, "encoder", out);
    e.head_norm = norm("encoder.head.0.gamma", out, false);
    e.head_conv = conv3("encoder.head.2", 2 * c_.z_dim, out, {3, 3, 3});
    return e;
  }

  Coder decoder() {
    Coder d;
    d.decoder = true;
    const int64_t n = int64_t(c_.dim_mult.size());
    const int64_t base = c_.version == WanVAEVersion::V2_1 ? c_.dim : c_.dec_dim;
    std::vector<int64_t> dims{base * c_.dim_mult.back()};
    for (auto it = c_.dim_mult.rbegin(); it != c_.dim_mult.rend(); ++it) dims.push_back(base * *it);
    std::vector<bool> t_up(c_.temporal_downsample.rbegin(), c_.temporal_downsample.rend());
    d.conv_in = conv3("decoder.conv1", dims[0], c_.z_dim, {3, 3, 3});
    middle(d, "decoder", dims[0]);
    double scale = 1.0 / std::pow(2.0, double(n - 2));
    int64_t flat = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t in = dims[size_t(i)];
      const int64_t out = dims[size_t(i) + 1];
      const bool temporal = i < int64_t(t_up.size()) && t_up[size_t(i)];
      const bool up = i != n - 1;
      const ResampleMode mode = temporal ? ResampleMode::Up3D : ResampleMode::Up2D;
      Stage stage;
      if (c_.version == WanVAEVersion::V2_1) {
        if (i >= 1) in /= 2;  // the previous stage's upsampling conv halved the channels
        for (int64_t r = 0; r < c_.num_res_blocks + 1; ++r) {
          stage.layers.push_back(residual("decoder.upsamples." + std::to_string(flat++), in, out));
          if (has_attention(scale)) {
            stage.layers.push_back(attention("decoder.upsamples." + std::to_string(flat++), out));
          }
          in = out;
        }
        if (up) {
          stage.layers.push_back(
              resample("decoder.upsamples." + std::to_string(flat++), out, mode));
          scale *= 2.0;
        }
      } else {
        const std::string p = "decoder.upsamples." + std::to_string(i) + ".upsamples.";
        if (up) stage.shortcut = GroupShortcut{true, true, in, out, temporal ? 2 : 1, 2};
        int64_t j = 0;
        for (int64_t r = 0; r < c_.num_res_blocks + 1; ++r, ++j) {
          stage.layers.push_back(residual(p + std::to_string(j), in, out));
          in = out;
        }
        if (up) stage.layers.push_back(resample(p + std::to_string(j), out, mode));
      }
      d.stages.push_back(std::move(stage));
    }
    const int64_t out = dims.back();
    d.head_norm = norm("decoder.head.0.gamma", out, false);
    d.head_conv = conv3("decoder.head.2", c_.io_channels(), out, {3, 3, 3});
    return d;
  }

 private:
  bool has_attention(double scale) const {
    return std::find(c_.attn_scales.begin(), c_.attn_scales.end(), scale) != c_.attn_scales.end();
  }
  const WanVAEConfig& c_;
  const WanVAE::Impl::Source& source_;
  at::Device device_;
  at::ScalarType dtype_;
};

// ---- diffusers names ----------------------------------------------------------------------------

const std::vector<std::pair<std::string, std::string>> kResidualDiffusers = {
    {"norm1.gamma", "residual.0.gamma"},
    {"conv1.", "residual.2."},
    {"norm2.gamma", "residual.3.gamma"},
    {"conv2.", "residual.6."},
    {"conv_shortcut.", "shortcut."}};

// Inside a residual block: diffusers -> official (nullopt when `rest` is not a residual part).
std::optional<std::string> residual_to_official(const std::string& rest) {
  for (const auto& [d, o] : kResidualDiffusers) {
    if (starts_with(rest, d)) return o + rest.substr(d.size());
  }
  return std::nullopt;
}

std::optional<std::string> residual_to_diffusers(const std::string& rest) {
  for (const auto& [d, o] : kResidualDiffusers) {
    if (starts_with(rest, o)) return d + rest.substr(o.size());
  }
  return std::nullopt;
}

// "12.rest" -> (12, "rest")
std::optional<std::pair<int64_t, std::string>> split_index(const std::string& s) {
  const size_t dot = s.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  return std::make_pair(std::stoll(s.substr(0, dot)), s.substr(dot + 1));
}

std::vector<int64_t> shape_of(const std::map<std::string, std::vector<int64_t>>& shapes,
                              const std::string& name) {
  auto it = shapes.find(name);
  if (it == shapes.end()) throw format_error("missing tensor " + name);
  return it->second;
}

bool has_prefix_key(const std::map<std::string, std::vector<int64_t>>& shapes,
                    const std::string& prefix) {
  auto it = shapes.lower_bound(prefix);
  return it != shapes.end() && starts_with(it->first, prefix);
}

}  // namespace

// ---- enums, presets ---------------------------------------------------------------------------

const char* to_string(WanVAEVersion version) {
  return version == WanVAEVersion::V2_1 ? "2.1" : "2.2";
}

WanVAEVersion parse_wan_vae_version(const std::string& name) {
  if (name == "2.1" || name == "wan2.1") return WanVAEVersion::V2_1;
  if (name == "2.2" || name == "wan2.2") return WanVAEVersion::V2_2;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown Wan VAE version '" + name + "'; valid: 2.1, 2.2");
}

const char* to_string(WanVAELayout layout) {
  switch (layout) {
    case WanVAELayout::Auto:
      return "auto";
    case WanVAELayout::Official:
      return "official";
    case WanVAELayout::Diffusers:
      return "diffusers";
  }
  return "?";
}

const std::vector<double>& wan_vae_default_mean(WanVAEVersion version) {
  return version == WanVAEVersion::V2_1 ? kMean21 : kMean22;
}
const std::vector<double>& wan_vae_default_std(WanVAEVersion version) {
  return version == WanVAEVersion::V2_1 ? kStd21 : kStd22;
}

int64_t WanVAEConfig::spatial_stride() const {
  const int64_t s = int64_t(1) << (dim_mult.size() - 1);
  return version == WanVAEVersion::V2_2 ? 2 * s : s;
}

int64_t WanVAEConfig::temporal_stride() const {
  int64_t s = 1;
  for (size_t i = 0; i + 1 < dim_mult.size() && i < temporal_downsample.size(); ++i) {
    if (temporal_downsample[i]) s *= 2;
  }
  return s;
}

int64_t WanVAEConfig::io_channels() const {
  return version == WanVAEVersion::V2_2 ? 12 : 3;
}

WanVAEConfig WanVAEConfig::preset(WanVAEVersion version) {
  WanVAEConfig c;
  c.version = version;
  if (version == WanVAEVersion::V2_2) {
    c.dim = 160;
    c.dec_dim = 256;
    c.z_dim = 48;
  }
  return c;
}

void WanVAEConfig::validate() const {
  auto bad = [](const std::string& m) {
    return Error(ErrorCategory::InvalidArgument, "Wan VAE config: " + m);
  };
  if (dim <= 0 || z_dim <= 0 || num_res_blocks <= 0 || dec_dim <= 0) {
    throw bad("dim, dec_dim, z_dim and num_res_blocks must be positive");
  }
  if (dim_mult.size() < 2) throw bad("dim_mult needs at least 2 stages");
  for (int64_t m : dim_mult) {
    if (m <= 0) throw bad("dim_mult entries must be positive");
  }
  if (4 % temporal_stride() != 0) {
    throw bad("at most 2 temporal downsamples (frames are encoded in groups of 4)");
  }
  if (version == WanVAEVersion::V2_1 && dec_dim != dim) throw bad("Wan 2.1 has dec_dim == dim");
}

WanVAEConfig WanVAEConfig::from_json_text(WanVAEVersion version, const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  WanVAEConfig c;
  c.version = version;
  c.dim = j.at("dim").get<int64_t>();
  c.z_dim = j.at("z_dim").get<int64_t>();
  c.dec_dim = version == WanVAEVersion::V2_2 ? j.value("dec_dim", c.dim) : c.dim;
  c.dim_mult = j.value("dim_mult", std::vector<int64_t>{1, 2, 4, 4});
  c.num_res_blocks = j.value("num_res_blocks", int64_t(2));
  c.attn_scales = j.value("attn_scales", std::vector<double>{});
  c.temporal_downsample = j.value("temperal_downsample", std::vector<bool>{false, true, true});
  c.validate();
  return c;
}

WanVAEConfig WanVAEConfig::from_weights(const std::map<std::string, std::vector<int64_t>>& shapes) {
  WanVAEConfig c;
  c.version = has_prefix_key(shapes, "encoder.downsamples.0.downsamples.") ? WanVAEVersion::V2_2
                                                                           : WanVAEVersion::V2_1;
  c.dim = shape_of(shapes, "encoder.conv1.weight")[0];
  c.z_dim = shape_of(shapes, "conv2.weight")[0];
  c.dim_mult.clear();
  c.temporal_downsample.clear();
  c.attn_scales.clear();
  auto res_out = [&](const std::string& p) {
    return shape_of(shapes, p + ".residual.2.weight")[0];
  };
  if (c.version == WanVAEVersion::V2_1) {
    int64_t res_in_stage = 0, last_out = c.dim;
    bool attn_in_stage = false;
    double scale = 1.0;
    auto close_stage = [&](bool temporal, bool has_resample) {
      if (last_out % c.dim != 0) throw format_error("stage width not a multiple of dim");
      c.dim_mult.push_back(last_out / c.dim);
      if (c.dim_mult.size() == 1) c.num_res_blocks = res_in_stage;
      if (attn_in_stage) c.attn_scales.push_back(scale);
      if (has_resample) c.temporal_downsample.push_back(temporal);
      scale /= 2.0;
      res_in_stage = 0;
      attn_in_stage = false;
    };
    for (int64_t k = 0;; ++k) {
      const std::string p = "encoder.downsamples." + std::to_string(k);
      if (!has_prefix_key(shapes, p + ".")) break;
      if (shapes.count(p + ".residual.0.gamma")) {
        last_out = res_out(p);
        ++res_in_stage;
      } else if (shapes.count(p + ".to_qkv.weight")) {
        attn_in_stage = true;
      } else if (shapes.count(p + ".resample.1.weight")) {
        close_stage(shapes.count(p + ".time_conv.weight") > 0, true);
      } else {
        throw format_error("unrecognised layer " + p);
      }
    }
    if (res_in_stage == 0) throw format_error("no residual blocks after the last downsample");
    close_stage(false, false);
  } else {
    c.dec_dim = 0;
    for (int64_t i = 0;; ++i) {
      const std::string p = "encoder.downsamples." + std::to_string(i) + ".downsamples.";
      if (!has_prefix_key(shapes, p)) break;
      int64_t j = 0, out = 0;
      while (shapes.count(p + std::to_string(j) + ".residual.0.gamma"))
        out = res_out(p + std::to_string(j++));
      if (j == 0 || out % c.dim != 0) throw format_error("unexpected layout of " + p);
      if (i == 0) c.num_res_blocks = j;
      c.dim_mult.push_back(out / c.dim);
      if (shapes.count(p + std::to_string(j) + ".resample.1.weight")) {
        c.temporal_downsample.push_back(shapes.count(p + std::to_string(j) + ".time_conv.weight") >
                                        0);
      }
    }
  }
  if (c.dim_mult.size() < 2) throw format_error("fewer than 2 encoder stages found");
  const int64_t dec_in = shape_of(shapes, "decoder.conv1.weight")[0];
  c.dec_dim = c.version == WanVAEVersion::V2_2 ? dec_in / c.dim_mult.back() : c.dim;
  c.validate();
  return c;
}

// ---- key layouts --------------------------------------------------------------------------------

std::optional<std::string> WanVAEKeyMap::diffusers_to_official(const std::string& name,
                                                               int64_t resnets_per_up_block) {
  if (starts_with(name, "quant_conv.")) return "conv1." + name.substr(11);
  if (starts_with(name, "post_quant_conv.")) return "conv2." + name.substr(16);
  for (const std::string side : {"encoder.", "decoder."}) {
    if (!starts_with(name, side)) continue;
    const std::string rest = name.substr(side.size());
    if (starts_with(rest, "conv_in.")) return side + "conv1." + rest.substr(8);
    if (rest == "norm_out.gamma") return side + "head.0.gamma";
    if (starts_with(rest, "conv_out.")) return side + "head.2." + rest.substr(9);
    if (starts_with(rest, "mid_block.resnets.")) {
      const auto idx = split_index(rest.substr(18));
      const auto part = idx ? residual_to_official(idx->second) : std::nullopt;
      if (!part || idx->first > 1) return std::nullopt;
      return side + "middle." + std::to_string(idx->first * 2) + "." + *part;
    }
    if (starts_with(rest, "mid_block.attentions.0.")) return side + "middle.1." + rest.substr(23);
    if (side == "encoder." && starts_with(rest, "down_blocks.")) {
      const auto idx = split_index(rest.substr(12));
      if (!idx) return std::nullopt;
      const auto part = residual_to_official(idx->second);
      return side + "downsamples." + std::to_string(idx->first) + "." +
             (part ? *part : idx->second);
    }
    if (side == "decoder." && starts_with(rest, "up_blocks.")) {
      const auto block = split_index(rest.substr(10));
      if (!block) return std::nullopt;
      const int64_t base = block->first * (resnets_per_up_block + 1);
      if (starts_with(block->second, "resnets.")) {
        const auto idx = split_index(block->second.substr(8));
        const auto part = idx ? residual_to_official(idx->second) : std::nullopt;
        if (!part) return std::nullopt;
        return side + "upsamples." + std::to_string(base + idx->first) + "." + *part;
      }
      if (starts_with(block->second, "upsamplers.0.")) {
        return side + "upsamples." + std::to_string(base + resnets_per_up_block) + "." +
               block->second.substr(13);
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string WanVAEKeyMap::official_to_diffusers(const std::string& name,
                                                int64_t resnets_per_up_block) {
  if (starts_with(name, "conv1.")) return "quant_conv." + name.substr(6);
  if (starts_with(name, "conv2.")) return "post_quant_conv." + name.substr(6);
  for (const std::string side : {"encoder.", "decoder."}) {
    if (!starts_with(name, side)) continue;
    const std::string rest = name.substr(side.size());
    if (starts_with(rest, "conv1.")) return side + "conv_in." + rest.substr(6);
    if (rest == "head.0.gamma") return side + "norm_out.gamma";
    if (starts_with(rest, "head.2.")) return side + "conv_out." + rest.substr(7);
    if (starts_with(rest, "middle.")) {
      const auto idx = split_index(rest.substr(7));
      if (idx && idx->first == 1) return side + "mid_block.attentions.0." + idx->second;
      if (idx) {
        return side + "mid_block.resnets." + std::to_string(idx->first / 2) + "." +
               residual_to_diffusers(idx->second).value_or(idx->second);
      }
    }
    if (starts_with(rest, "downsamples.")) {
      const auto idx = split_index(rest.substr(12));
      if (idx) {
        return side + "down_blocks." + std::to_string(idx->first) + "." +
               residual_to_diffusers(idx->second).value_or(idx->second);
      }
    }
    if (starts_with(rest, "upsamples.")) {
      const auto idx = split_index(rest.substr(10));
      if (idx) {
        const int64_t block = idx->first / (resnets_per_up_block + 1);
        const int64_t within = idx->first % (resnets_per_up_block + 1);
        const std::string b = side + "up_blocks." + std::to_string(block) + ".";
        if (within == resnets_per_up_block) return b + "upsamplers.0." + idx->second;
        return b + "resnets." + std::to_string(within) + "." +
               residual_to_diffusers(idx->second).value_or(idx->second);
      }
    }
  }
  return name;
}

WanVAEKeyMap WanVAEKeyMap::detect(const std::vector<std::string>& names, WanVAELayout layout,
                                  const std::vector<std::string>& ignore_prefixes) {
  std::vector<std::string> considered;
  for (const auto& n : names) {
    bool skip = false;
    for (const auto& p : ignore_prefixes) skip = skip || starts_with(n, p);
    if (!skip) considered.push_back(n);
  }
  WanVAEKeyMap map;
  // The prefix is whatever stands before "encoder.conv1.weight" (official) or
  // "encoder.conv_in.weight" (diffusers).
  bool found = false;
  for (const auto& n : considered) {
    for (const auto& [marker, l] :
         {std::make_pair(std::string("encoder.conv1.weight"), WanVAELayout::Official),
          std::make_pair(std::string("encoder.conv_in.weight"), WanVAELayout::Diffusers)}) {
      if (!ends_with(n, marker)) continue;
      const std::string prefix = n.substr(0, n.size() - marker.size());
      if (!prefix.empty() && prefix.back() != '.') continue;
      if (layout != WanVAELayout::Auto && layout != l) continue;
      map.prefix = prefix;
      map.layout = l;
      found = true;
    }
    if (found) break;
  }
  if (!found) {
    throw format_error(std::string("no Wan VAE found (no key ends in ") +
                       (layout == WanVAELayout::Diffusers ? "encoder.conv_in.weight"
                        : layout == WanVAELayout::Official
                            ? "encoder.conv1.weight"
                            : "encoder.conv1.weight or encoder.conv_in.weight") +
                       ")");
  }
  int64_t resnets = 0;
  if (map.layout == WanVAELayout::Diffusers) {
    const std::string p = map.prefix + "decoder.up_blocks.0.resnets.";
    for (const auto& n : considered) {
      if (!starts_with(n, p)) continue;
      const auto idx = split_index(n.substr(p.size()));
      if (idx) resnets = std::max(resnets, idx->first + 1);
    }
  }
  for (const auto& n : considered) {
    if (!starts_with(n, map.prefix)) continue;
    const std::string rel = n.substr(map.prefix.size());
    if (map.layout == WanVAELayout::Official) {
      map.to_canonical[n] = rel;
    } else if (const auto official = diffusers_to_official(rel, resnets)) {
      map.to_canonical[n] = *official;
    } else {
      map.to_canonical[n] = "<unknown diffusers name> " + rel;  // reported as unexpected
    }
  }
  return map;
}

// ---- building and loading -----------------------------------------------------------------------

std::shared_ptr<WanVAE::Impl> WanVAE::Impl::build(const WanVAEConfig& config, at::Device device,
                                                  at::ScalarType dtype, const Source& source) {
  config.validate();
  auto impl = std::make_shared<Impl>();
  impl->config = config;
  impl->device = device;
  impl->dtype = dtype;
  Builder b(config, source, device, dtype);
  impl->encoder = b.encoder();
  impl->conv1 = b.conv3("conv1", 2 * config.z_dim, 2 * config.z_dim, {1, 1, 1});
  impl->conv2 = b.conv3("conv2", config.z_dim, config.z_dim, {1, 1, 1});
  impl->decoder = b.decoder();
  impl->parameters = std::move(b.parameters);
  return impl;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> WanVAE::Impl::parameter_shapes(
    const WanVAEConfig& config) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  Source record = [&](const std::string& name, std::vector<int64_t> shape) {
    out.emplace_back(name, shape);
    return at::Tensor();
  };
  build(config, at::Device(at::kCPU), at::kFloat, record);
  return out;
}

void WanVAE::Impl::set_normalisation(const std::vector<double>& mean_in,
                                     const std::vector<double>& std_in) {
  const auto& mean_v = mean_in.empty() ? wan_vae_default_mean(config.version) : mean_in;
  const auto& std_v = std_in.empty() ? wan_vae_default_std(config.version) : std_in;
  const size_t z = size_t(config.z_dim);
  if (mean_v.size() != z || std_v.size() != z) {
    throw Error(ErrorCategory::InvalidArgument,
                "Wan VAE latent normalisation has " + std::to_string(mean_v.size()) +
                    " means and " + std::to_string(std_v.size()) + " stds; this VAE has z_dim " +
                    std::to_string(z) +
                    " (give both with z_dim values, or neither for the published "
                    "Wan " +
                    to_string(config.version) + " values)");
  }
  for (double s : std_v) {
    if (!(s > 0))
      throw Error(ErrorCategory::InvalidArgument, "Wan VAE latent std values must be > 0");
  }
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  mean = at::tensor(std::vector<float>(mean_v.begin(), mean_v.end()), f32).to(device);
  std_ = at::tensor(std::vector<float>(std_v.begin(), std_v.end()), f32).to(device);
  inv_std = std_.reciprocal();  // float32 1 / std, as the reference's scale[1]
}

WanVAE WanVAE::load(const tensors::Checkpoint& weights, const WanVAELoadOptions& options) {
  c10::InferenceMode guard;
  const WanVAEKeyMap map =
      WanVAEKeyMap::detect(weights.names(), options.layout, options.ignore_prefixes);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [key, canonical] : map.to_canonical) shapes[canonical] = weights.info(key).shape;
  const WanVAEConfig config = WanVAEConfig::from_weights(shapes);
  if (options.expected_version && *options.expected_version != config.version) {
    throw format_error(std::string("the checkpoint holds a Wan ") + to_string(config.version) +
                       " VAE, but Wan " + to_string(*options.expected_version) + " was expected");
  }
  std::vector<std::string> expected;
  for (const auto& p : Impl::parameter_shapes(config)) expected.push_back(p.first);
  tensors::LoadOptions load_options;
  load_options.dtype = at::kFloat;  // norms stay float32; convs are cast to the compute dtype
  load_options.device = tensors::torch_device(options.device);
  tensors::KeyMapper mapper = [&map](const std::string& key) -> std::optional<std::string> {
    auto it = map.to_canonical.find(key);
    if (it == map.to_canonical.end()) return std::nullopt;
    return it->second;
  };
  tensors::StateDict state = tensors::load_state(weights, mapper, expected, load_options);
  auto impl = Impl::build(
      config, load_options.device, tensors::torch_dtype(options.dtype),
      [&](const std::string& name, std::vector<int64_t> shape) { return state.take(name, shape); });
  state.require_all_taken("Wan VAE");
  impl->set_normalisation(options.latent_mean, options.latent_std);
  return WanVAE(std::move(impl));
}

WanVAELoadOptions WanVAELoadOptions::from_spec(const VAESpec& spec) {
  WanVAELoadOptions o;
  o.expected_version = parse_wan_vae_version(spec.version);
  o.latent_mean = spec.latent_mean;
  o.latent_std = spec.latent_std;
  return o;
}

WanVAE WanVAE::random(const WanVAEConfig& config, const WanVAELoadOptions& options, uint64_t seed) {
  c10::InferenceMode guard;
  const at::Device device = tensors::torch_device(options.device);
  const at::ScalarType dtype = tensors::torch_dtype(options.dtype);
  at::manual_seed(seed);
  auto impl =
      Impl::build(config, device, dtype, [&](const std::string& name, std::vector<int64_t> shape) {
        const auto opt = at::TensorOptions().dtype(at::kFloat);
        if (ends_with(name, ".gamma")) return at::ones(shape, opt);
        if (ends_with(name, ".bias")) return at::randn(shape, opt).mul_(0.02);
        int64_t fan_in = 1;
        for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
        return at::randn(shape, opt).mul_(1.0 / std::sqrt(double(fan_in)));
      });
  impl->set_normalisation(options.latent_mean, options.latent_std);
  return WanVAE(std::move(impl));
}

}  // namespace reelforge::models
