// Whole-clip Wan 2.1 VAE forward for training. The chunked inference path (src/models/wan_vae.cpp)
// is the ground truth; its caches translate to the whole sequence as follows:
// - ordinary causal convs: the cache carries the last 2 input frames into the next chunk, so over
//   the whole clip it is 2 zero frames in front of frame 0;
// - encoder Down3D: frame 0 (the first chunk) skips the temporal conv; later chunks prepend the
//   previous chunk's last frame, so the stride-2 conv runs over all frames 0..T-1 and its outputs
//   follow frame 0;
// - decoder Up3D: frame 0 skips the temporal conv ('Rep'); from frame 1 on the conv is causal with
//   zeros in front of frame 1, and its 2C channels become 2 frames each.
// Nothing here writes into a tensor autograd may need.

#include "reelforge/training/vae_trainable.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::training {

using models::WanVAEConfig;
using models::WanVAEVersion;

namespace {

Error invalid(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, "trainable Wan VAE: " + message);
}

std::string shape_string(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

class Forward {
 public:
  Forward(const NamedWeights& w, const WanVAEConfig& c, at::ScalarType dt) : w_(w), c_(c), dt_(dt) {
    if (c.version != WanVAEVersion::V2_1) {
      throw invalid("only Wan 2.1 is supported; got version " + std::string(to_string(c.version)));
    }
    if (dt != at::kFloat && dt != at::kBFloat16) {
      throw invalid("compute dtype must be float32 or bfloat16");
    }
    c.validate();
  }

  // [B, 3, T, H, W] -> conv1 output [B, 2z, F, h, w] in the compute dtype.
  at::Tensor encode(const at::Tensor& video) const {
    const int64_t n = int64_t(c_.dim_mult.size());
    std::vector<int64_t> dims{c_.dim};
    for (int64_t m : c_.dim_mult) dims.push_back(c_.dim * m);
    at::Tensor x = causal_conv(video.to(dt_), "encoder.conv1");
    double scale = 1.0;
    int64_t flat = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t in = dims[size_t(i)];
      const int64_t out = dims[size_t(i) + 1];
      for (int64_t r = 0; r < c_.num_res_blocks; ++r) {
        x = residual(x, "encoder.downsamples." + std::to_string(flat++), in != out);
        if (has_attention(scale)) {
          x = attention(x, "encoder.downsamples." + std::to_string(flat++));
        }
        in = out;
      }
      if (i != n - 1) {
        x = downsample(x, "encoder.downsamples." + std::to_string(flat++), temporal(i));
        scale /= 2.0;
      }
    }
    x = middle(x, "encoder");
    x = causal_conv(rms_norm(x, "encoder.head.0.gamma", true, dt_), "encoder.head.2");
    return conv(x, "conv1", {1, 1, 1}, {0, 0, 0});
  }

  // Un-normalised z [B, z, F, h, w] -> [B, 3, T, H, W] in the compute dtype.
  at::Tensor decode(const at::Tensor& z) const {
    const int64_t n = int64_t(c_.dim_mult.size());
    std::vector<int64_t> dims{c_.dim * c_.dim_mult.back()};
    for (auto it = c_.dim_mult.rbegin(); it != c_.dim_mult.rend(); ++it)
      dims.push_back(c_.dim * *it);
    at::Tensor x = conv(z.to(dt_), "conv2", {1, 1, 1}, {0, 0, 0});
    x = causal_conv(x, "decoder.conv1");
    x = middle(x, "decoder");
    double scale = 1.0 / std::pow(2.0, double(n - 2));
    int64_t flat = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t in = dims[size_t(i)];
      const int64_t out = dims[size_t(i) + 1];
      if (i >= 1) in /= 2;  // the previous stage's upsampling conv halved the channels
      for (int64_t r = 0; r < c_.num_res_blocks + 1; ++r) {
        x = residual(x, "decoder.upsamples." + std::to_string(flat++), in != out);
        if (has_attention(scale)) {
          x = attention(x, "decoder.upsamples." + std::to_string(flat++));
        }
        in = out;
      }
      if (i != n - 1) {
        // The decoder reads the temporal flags backwards (the reference's temperal_upsample).
        const int64_t flags = int64_t(c_.temporal_downsample.size());
        x = upsample(x, "decoder.upsamples." + std::to_string(flat++), temporal(flags - 1 - i));
        scale *= 2.0;
      }
    }
    return causal_conv(rms_norm(x, "decoder.head.0.gamma", true, dt_), "decoder.head.2");
  }

 private:
  bool temporal(int64_t i) const {
    return i >= 0 && i < int64_t(c_.temporal_downsample.size()) &&
           c_.temporal_downsample[size_t(i)];
  }
  bool has_attention(double scale) const {
    return std::find(c_.attn_scales.begin(), c_.attn_scales.end(), scale) != c_.attn_scales.end();
  }

  // A conv's weight in the compute dtype, as [O, I, kt, kh, kw] (2-D convs get kt = 1).
  at::Tensor conv_weight(const std::string& p) const {
    at::Tensor k = in_dtype(weight(w_, p + ".weight"), dt_);
    return k.dim() == 4 ? k.unsqueeze(2) : k;
  }

  at::Tensor conv(const at::Tensor& x, const std::string& p, at::IntArrayRef stride,
                  at::IntArrayRef padding) const {
    return at::conv3d(x, conv_weight(p), in_dtype(weight(w_, p + ".bias"), dt_), stride, padding);
  }

  // CausalConv3d: kt - 1 zero frames in front, symmetric spatial padding.
  at::Tensor causal_conv(const at::Tensor& x, const std::string& p) const {
    const at::Tensor k = conv_weight(p);
    const int64_t kt = k.size(2), kh = k.size(3), kw = k.size(4);
    const at::Tensor in = kt > 1 ? at::constant_pad_nd(x, {0, 0, 0, 0, kt - 1, 0}) : x;
    return at::conv3d(in, k, in_dtype(weight(w_, p + ".bias"), dt_), {1, 1, 1},
                      {0, kh / 2, kw / 2});
  }

  // x / max(||x||_2 over channels, 1e-12) * sqrt(C) * gamma in float32 (then SiLU), in out_dtype.
  at::Tensor rms_norm(const at::Tensor& x, const std::string& gamma_name, bool silu,
                      at::ScalarType out_dtype) const {
    const int64_t ch = x.size(1);
    const at::Tensor scale =
        weight(w_, gamma_name).reshape({1, ch, 1, 1, 1}).mul(std::sqrt(double(ch)));
    const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
    const at::Tensor denom = at::norm(xf, 2, {1}, /*keepdim=*/true).clamp_min(1e-12);
    at::Tensor y = xf.div(denom).mul(scale);
    if (silu) y = at::silu(y);
    return y.scalar_type() == out_dtype ? y : y.to(out_dtype);
  }

  at::Tensor residual(const at::Tensor& x, const std::string& p, bool shortcut) const {
    const at::Tensor h = shortcut ? conv(x, p + ".shortcut", {1, 1, 1}, {0, 0, 0}) : x;
    at::Tensor y = causal_conv(rms_norm(x, p + ".residual.0.gamma", true, dt_), p + ".residual.2");
    y = causal_conv(rms_norm(y, p + ".residual.3.gamma", true, dt_), p + ".residual.6");
    return y + h;
  }

  // Single-head self-attention over each frame's H*W positions, float32 throughout (weights are
  // the float32 masters). Runs at the lowest resolutions only, so no query blocking.
  at::Tensor attention(const at::Tensor& x, const std::string& p) const {
    const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
    const at::Tensor y = rms_norm(x, p + ".norm.gamma", false, at::kFloat)
                             .permute({0, 2, 3, 4, 1})
                             .reshape({b * t, h * w, c});  // [BT, HW, C]
    const at::Tensor qkv_w = in_dtype(weight(w_, p + ".to_qkv.weight"), at::kFloat);
    const at::Tensor qkv =
        at::linear(y, qkv_w.reshape({3 * c, c}),
                   in_dtype(weight(w_, p + ".to_qkv.bias"), at::kFloat));  // [BT, HW, 3C]
    const at::Tensor q = qkv.narrow(2, 0, c), k = qkv.narrow(2, c, c), v = qkv.narrow(2, 2 * c, c);
    const at::Tensor logits = at::matmul(q, k.transpose(1, 2)).mul(1.0 / std::sqrt(double(c)));
    const at::Tensor att = at::matmul(at::softmax(logits, -1), v);  // [BT, HW, C]
    const at::Tensor proj_w = in_dtype(weight(w_, p + ".proj.weight"), at::kFloat);
    const at::Tensor o =
        at::linear(att, proj_w.reshape({c, c}), in_dtype(weight(w_, p + ".proj.bias"), at::kFloat))
            .view({b, t, h, w, c})
            .permute({0, 4, 1, 2, 3});  // [B, C, T, H, W]
    return o.add(x.scalar_type() == at::kFloat ? x : x.to(at::kFloat)).to(dt_);
  }

  // ZeroPad2d((0, 1, 0, 1)) and a 3x3 stride-2 conv per frame; then, for Down3D, frame 0 as it is
  // followed by the stride-2 temporal conv over all frames (windows (0,1,2), (2,3,4), ...).
  at::Tensor downsample(const at::Tensor& x, const std::string& p, bool time) const {
    const at::Tensor y =
        conv(at::constant_pad_nd(x, {0, 1, 0, 1}), p + ".resample.1", {1, 2, 2}, {0, 0, 0});
    if (!time || y.size(2) < 3) return y;
    const at::Tensor rest = conv(y, p + ".time_conv", {2, 1, 1}, {0, 0, 0});
    return at::cat({y.narrow(2, 0, 1), rest}, 2);
  }

  // Up3D: frame 0 as it is, frames 1.. through the causal temporal conv, its channels [0, C) and
  // [C, 2C) becoming frames 2i and 2i + 1. Then nearest 2x in space and a 3x3 conv.
  at::Tensor upsample(at::Tensor x, const std::string& p, bool time) const {
    const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
    if (time && t > 1) {
      const at::Tensor y = causal_conv(x.narrow(2, 1, t - 1), p + ".time_conv");  // [B, 2C, t-1]
      const at::Tensor frames = y.view({b, 2, c, t - 1, h, w})
                                    .permute({0, 2, 3, 1, 4, 5})
                                    .reshape({b, c, 2 * (t - 1), h, w});
      x = at::cat({x.narrow(2, 0, 1), frames}, 2);
    }
    const int64_t tt = x.size(2);
    const at::Tensor up = x.view({b, c, tt, h, 1, w, 1})
                              .expand({b, c, tt, h, 2, w, 2})
                              .reshape({b, c, tt, 2 * h, 2 * w});
    return conv(up, p + ".resample.1", {1, 1, 1}, {0, 1, 1});
  }

  at::Tensor middle(at::Tensor x, const std::string& side) const {
    x = residual(x, side + ".middle.0", false);
    x = attention(x, side + ".middle.1");
    return residual(x, side + ".middle.2", false);
  }

  const NamedWeights& w_;
  const WanVAEConfig& c_;
  at::ScalarType dt_;
};

}  // namespace

std::pair<at::Tensor, at::Tensor> vae_encode_moments(const NamedWeights& w,
                                                     const WanVAEConfig& config,
                                                     const at::Tensor& video,
                                                     at::ScalarType compute_dtype) {
  const Forward f(w, config, compute_dtype);
  if (video.dim() != 5 || video.size(1) != 3) {
    throw invalid("video must be [B, 3, T, H, W]; got " + shape_string(video));
  }
  if (!at::isFloatingType(video.scalar_type())) throw invalid("video must be a floating tensor");
  if (video.size(2) < 1 || (video.size(2) - 1) % 4 != 0) {
    throw invalid("video has " + std::to_string(video.size(2)) +
                  " frames; the VAE takes 1 + 4k frames");
  }
  const int64_t s = config.spatial_stride();
  if (video.size(3) < s || video.size(4) < s || video.size(3) % s != 0 || video.size(4) % s != 0) {
    throw invalid("frame size " + std::to_string(video.size(4)) + "x" +
                  std::to_string(video.size(3)) + " is not a multiple of the VAE stride " +
                  std::to_string(s));
  }
  const at::Tensor out = f.encode(video).to(at::kFloat);  // [B, 2z, F, h, w]
  const int64_t z = config.z_dim;
  return {out.narrow(1, 0, z), out.narrow(1, z, z)};
}

at::Tensor vae_decode(const NamedWeights& w, const WanVAEConfig& config, const at::Tensor& z,
                      at::ScalarType compute_dtype) {
  const Forward f(w, config, compute_dtype);
  if (z.dim() != 5 || z.size(1) != config.z_dim) {
    throw invalid("latent must be [B, " + std::to_string(config.z_dim) + ", F, h, w]; got " +
                  shape_string(z));
  }
  if (z.numel() == 0) throw invalid("latent " + shape_string(z) + " is empty");
  if (!at::isFloatingType(z.scalar_type())) throw invalid("latent must be a floating tensor");
  return f.decode(z).to(at::kFloat);
}

}  // namespace reelforge::training
