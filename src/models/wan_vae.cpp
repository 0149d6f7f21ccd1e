// The Wan VAEs' forward passes: causal convolutions with feature caches, RMS norms, the middle
// attention, temporal / spatial resampling, Wan 2.2's group shortcuts, chunked (streaming)
// encode / decode and spatial tiling. Mirrors wan/modules/vae.py and vae2_2.py; the comments name
// the reference's behaviour where it is not obvious (README of the golden fixtures).

#include "reelforge/models/wan_vae.hpp"

#include <ATen/ATen.h>

#include <atomic>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>

#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "wan_vae_impl.hpp"

namespace reelforge::models {

using vae::Cache;
using vae::Coder;
using vae::coder_forward;
using vae::CoderPart;
using vae::Conv;
using vae::Layer;
using vae::LayerKind;
using vae::ResampleMode;
using vae::RMSNorm;
using vae::Stage;

namespace {

Error invalid(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, "Wan VAE: " + message);
}

std::string shape_string(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// ---- primitives -----------------------------------------------------------------------------

std::atomic<int64_t> g_conv_flops{0};

// at::conv3d, counting its multiply-adds x 2 for the benchmarks (wan_vae_conv_flops()).
at::Tensor conv3d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  at::IntArrayRef stride = {1, 1, 1}, at::IntArrayRef padding = {0, 0, 0}) {
  at::Tensor y = at::conv3d(x, weight, bias, stride, padding);
  g_conv_flops.fetch_add(2 * y.numel() * weight.size(1) * weight.size(2) * weight.size(3) *
                             weight.size(4),
                         std::memory_order_relaxed);
  return y;
}

// x / max(||x||_2 over channels, 1e-12) * sqrt(C) * gamma in float32, optionally followed by SiLU,
// returned in `out_dtype`.
at::Tensor rms_norm(const at::Tensor& x, const RMSNorm& norm, bool silu, at::ScalarType out_dtype) {
  const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
  const at::Tensor denom = at::norm(xf, 2, {1}, /*keepdim=*/true).clamp_min_(1e-12);  // [B,1,..]
  at::Tensor y = xf.div(denom).mul_(norm.scale);
  if (silu) at::silu_(y);
  return y.scalar_type() == out_dtype ? y : y.to(out_dtype);
}

// CausalConv3d.forward(x, cache_x): `prev` (0-2 cached frames) replaces as many of the kt - 1 zero
// frames in front; the spatial padding is symmetric (k / 2).
at::Tensor causal_conv(const at::Tensor& x, const Conv& c, const at::Tensor& prev) {
  const int64_t kt = c.weight.size(2), kh = c.weight.size(3), kw = c.weight.size(4);
  int64_t pad_t = kt - 1;
  at::Tensor in = x;
  if (pad_t > 0 && prev.defined()) {
    in = at::cat({prev, x}, 2);  // [B, C, n + T, H, W]
    pad_t -= prev.size(2);
  }
  if (pad_t > 0) {
    auto sizes = in.sizes().vec();
    sizes[2] = pad_t;
    in = at::cat({at::zeros(sizes, in.options()), in}, 2);  // [B, C, kt - 1 + T, H, W]
  }
  return conv3d(in, c.weight, c.bias, {1, 1, 1}, {0, kh / 2, kw / 2});
}

// A causal conv that keeps its input's last 2 frames for the next chunk (a 1-frame chunk keeps
// the previous chunk's last frame plus this one), as every cached conv in the reference does.
at::Tensor cached_conv(const at::Tensor& x, const Conv& c, Cache& cache) {
  const size_t i = cache.next();
  at::Tensor& slot = cache.slots[i];
  const int64_t t = x.size(2);
  at::Tensor keep = x.narrow(2, std::max<int64_t>(0, t - 2), std::min<int64_t>(t, 2));
  if (keep.size(2) < 2 && slot.defined()) {
    keep = at::cat({slot.narrow(2, slot.size(2) - 1, 1), keep}, 2);
  } else {
    keep = keep.clone();
  }
  at::Tensor y = causal_conv(x, c, slot);
  slot = keep;
  return y;
}

at::Tensor residual_block(const Layer& l, const at::Tensor& x, Cache& cache, at::ScalarType dt) {
  const at::Tensor h =
      l.has_shortcut ? conv3d(x, l.shortcut.weight, l.shortcut.bias) : x;  // [B, O, T, H, W]
  at::Tensor y = cached_conv(rms_norm(x, l.norm1, true, dt), l.conv1, cache);
  y = cached_conv(rms_norm(y, l.norm2, true, dt), l.conv2, cache);
  return y.add_(h);
}

// Single-head self-attention over the H*W positions of each frame, float32 throughout (the
// reference's scaled_dot_product_attention). Queries go in blocks so the logits stay <= 64 MB.
at::Tensor attention_block(const Layer& l, const at::Tensor& x, at::ScalarType dt) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  const int64_t n = h * w;
  const at::Tensor y = rms_norm(x, l.norm, false, at::kFloat)
                           .permute({0, 2, 3, 4, 1})
                           .reshape({b * t, n, c});  // [BT, HW, C]
  const at::Tensor qkv = at::linear(y, l.qkv_weight.to(at::kFloat), l.qkv_bias.to(at::kFloat));
  const at::Tensor q = qkv.narrow(2, 0, c), k = qkv.narrow(2, c, c), v = qkv.narrow(2, 2 * c, c);
  const at::Tensor kt = k.transpose(1, 2);  // [BT, C, HW]
  const double scale = 1.0 / std::sqrt(double(c));
  at::Tensor out = at::empty({b * t, n, c}, y.options());
  const int64_t block = std::max<int64_t>(1, (int64_t(64) << 20) / (4 * n * b * t));
  for (int64_t q0 = 0; q0 < n; q0 += block) {
    const int64_t len = std::min(block, n - q0);
    const at::Tensor logits = at::matmul(q.narrow(1, q0, len), kt).mul_(scale);  // [BT, len, HW]
    out.narrow(1, q0, len).copy_(at::matmul(at::softmax(logits, -1), v));
  }
  at::Tensor o = at::linear(out, l.proj_weight.to(at::kFloat), l.proj_bias.to(at::kFloat));
  o = o.view({b, t, h, w, c}).permute({0, 4, 1, 2, 3});  // [B, C, T, H, W]
  return (x.scalar_type() == at::kFloat ? o.add(x) : o.add(x.to(at::kFloat))).to(dt);
}

// Nearest 2x in H and W (nearest-exact equals plain duplication for a factor of 2).
at::Tensor upsample2x(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  return x.view({b, c, t, h, 1, w, 1})
      .expand({b, c, t, h, 2, w, 2})
      .reshape({b, c, t, 2 * h, 2 * w});  // [B, C, T, 2H, 2W]
}

at::Tensor resample_block(const Layer& l, at::Tensor x, Cache& cache) {
  if (l.mode == ResampleMode::Up3D) {
    const size_t i = cache.next();
    at::Tensor& slot = cache.slots[i];
    if (!cache.rep[i] && !slot.defined()) {
      // First chunk: the temporal conv is skipped ('Rep'); this chunk's frames never reach it.
      cache.rep[i] = 1;
    } else {
      const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
      at::Tensor keep = x.narrow(2, std::max<int64_t>(0, t - 2), std::min<int64_t>(t, 2));
      if (keep.size(2) < 2) {
        keep = at::cat(
            {cache.rep[i] ? at::zeros_like(keep) : slot.narrow(2, slot.size(2) - 1, 1), keep}, 2);
      } else {
        keep = keep.clone();
      }
      const at::Tensor y = causal_conv(x, l.time_conv, cache.rep[i] ? at::Tensor() : slot);
      slot = keep;
      cache.rep[i] = 0;
      // [B, 2C, T, H, W] -> [B, 2, C, T, H, W] -> [B, C, T, 2, H, W]: frame 2i from channels
      // [0, C), frame 2i + 1 from [C, 2C).
      x = y.view({b, 2, c, t, h, w}).permute({0, 2, 3, 1, 4, 5}).reshape({b, c, 2 * t, h, w});
    }
  }
  if (l.mode == ResampleMode::Up2D || l.mode == ResampleMode::Up3D) {
    return conv3d(upsample2x(x), l.spatial.weight, l.spatial.bias, {1, 1, 1}, {0, 1, 1});
  }
  // ZeroPad2d((0, 1, 0, 1)), then a 3x3 stride-2 conv per frame.
  x = conv3d(at::constant_pad_nd(x, {0, 1, 0, 1}), l.spatial.weight, l.spatial.bias, {1, 2, 2});
  if (l.mode == ResampleMode::Down3D) {
    const size_t i = cache.next();
    at::Tensor& slot = cache.slots[i];
    const at::Tensor keep = x.narrow(2, x.size(2) - 1, 1).clone();
    if (slot.defined()) {
      // Later chunks: the cached last frame in front, stride-2 temporal conv (4 -> 2, 2 -> 1).
      x = conv3d(at::cat({slot, x}, 2), l.time_conv.weight, l.time_conv.bias, {2, 1, 1});
    }
    slot = keep;  // the first chunk skips the temporal conv
  }
  return x;
}

at::Tensor layer_forward(const Layer& l, const at::Tensor& x, Cache& cache, at::ScalarType dt) {
  switch (l.kind) {
    case LayerKind::Residual:
      return residual_block(l, x, cache, dt);
    case LayerKind::Attention:
      return attention_block(l, x, dt);
    case LayerKind::Resample:
      return resample_block(l, x, cache);
  }
  RF_CHECK(false, "unknown VAE layer kind");
  return x;
}

// AvgDown3D: zero frames in front up to a multiple of factor_t, space/time-to-channel, then the
// mean over groups of channels.
at::Tensor avg_down(const vae::GroupShortcut& s, const at::Tensor& x) {
  const int64_t ft = s.factor_t, fs = s.factor_s;
  at::Tensor in = x;
  const int64_t pad_t = (ft - x.size(2) % ft) % ft;
  if (pad_t > 0) in = at::constant_pad_nd(x, {0, 0, 0, 0, pad_t, 0});
  const int64_t b = in.size(0), c = in.size(1), t = in.size(2) / ft, h = in.size(3) / fs,
                w = in.size(4) / fs;
  const int64_t factor = ft * fs * fs, group = c * factor / s.out_channels;
  return in.view({b, c, t, ft, h, fs, w, fs})
      .permute({0, 1, 3, 5, 7, 2, 4, 6})             // [B, C, ft, fs, fs, T', H', W']
      .reshape({b, s.out_channels, group, t, h, w})  // channel c * factor + offset, grouped
      .mean(2);                                      // [B, out, T', H', W']
}

// DupUp3D: repeat channels, spread them into time and space; the first chunk drops the leading
// factor_t - 1 frames.
at::Tensor dup_up(const vae::GroupShortcut& s, const at::Tensor& x, bool first_chunk) {
  const int64_t ft = s.factor_t, fs = s.factor_s;
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  const int64_t repeats = s.out_channels * ft * fs * fs / c;
  at::Tensor y = x.repeat_interleave(repeats, 1)
                     .view({b, s.out_channels, ft, fs, fs, t, h, w})
                     .permute({0, 1, 5, 2, 6, 3, 7, 4})  // [B, out, T, ft, H, fs, W, fs]
                     .reshape({b, s.out_channels, t * ft, h * fs, w * fs});
  if (first_chunk && ft > 1) y = y.narrow(2, ft - 1, y.size(2) - (ft - 1));
  return y;
}

at::Tensor stage_forward(const Stage& stage, at::Tensor x, Cache& cache, at::ScalarType dt) {
  const at::Tensor input = x;
  for (const Layer& l : stage.layers) x = layer_forward(l, x, cache, dt);
  if (!stage.shortcut.present) return x;
  return x.add_(stage.shortcut.up ? dup_up(stage.shortcut, input, cache.first_chunk)
                                  : avg_down(stage.shortcut, input));
}

}  // namespace

namespace vae {

// The whole coder, or the part at latent resolution that tiling runs untiled (decoder: conv_in
// and the middle blocks with their global attention; encoder: the middle and the head), or the
// rest, which tiling runs per tile.
at::Tensor coder_forward(const Coder& coder, const at::Tensor& input, Cache& cache,
                         at::ScalarType dt, CoderPart part) {
  cache.reset_index();
  at::Tensor x = input;
  const bool all = part == CoderPart::All;
  const bool latent_part = part == CoderPart::LatentRes;
  auto run_middle = [&] {
    for (const Layer& l : coder.middle) x = layer_forward(l, x, cache, dt);
  };
  if (coder.decoder) {
    if (all || latent_part) {
      x = cached_conv(x, coder.conv_in, cache);
      run_middle();
    }
    if (all || !latent_part) {
      for (const Stage& s : coder.stages) x = stage_forward(s, x, cache, dt);
      x = cached_conv(rms_norm(x, coder.head_norm, true, dt), coder.head_conv, cache);
    }
  } else {
    if (all || !latent_part) {
      x = cached_conv(x, coder.conv_in, cache);
      for (const Stage& s : coder.stages) x = stage_forward(s, x, cache, dt);
    }
    if (all || latent_part) {
      run_middle();
      x = cached_conv(rms_norm(x, coder.head_norm, true, dt), coder.head_conv, cache);
    }
  }
  cache.first_chunk = false;
  return x;
}

}  // namespace vae

namespace {

// "b c f (h q) (w r) -> b (c r q) f h w"
at::Tensor patchify(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), f = x.size(2), h = x.size(3) / 2, w = x.size(4) / 2;
  return x.view({b, c, f, h, 2, w, 2})
      .permute({0, 1, 6, 4, 2, 3, 5})  // [B, C, r, q, F, H, W]
      .reshape({b, c * 4, f, h, w});
}

// "b (c r q) f h w -> b c f (h q) (w r)"
at::Tensor unpatchify(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1) / 4, f = x.size(2), h = x.size(3), w = x.size(4);
  return x.view({b, c, 2, 2, f, h, w})
      .permute({0, 1, 4, 5, 3, 6, 2})  // [B, C, F, H, q, W, r]
      .reshape({b, c, f, 2 * h, 2 * w});
}

// ---- spatial tiling -------------------------------------------------------------------------

struct Span {
  int64_t begin = 0, end = 0;
};

// Tiles of `tile` covering [0, total) with at least `overlap` shared between neighbours; the
// last tile is moved back to end at `total` so that every tile has the full size.
std::vector<Span> tile_spans(int64_t total, int64_t tile, int64_t overlap) {
  if (tile <= 0 || tile >= total) return {{0, total}};
  std::vector<Span> spans;
  const int64_t stride = tile - overlap;
  for (int64_t begin = 0;; begin += stride) {
    if (begin + tile >= total) {
      spans.push_back({total - tile, total});
      break;
    }
    spans.push_back({begin, begin + tile});
  }
  return spans;
}

// Blend weights for a tile [begin, end) of a `total`-long axis (output units). On a side that
// touches another tile the weight is 0 for the outer `margin` samples (where the tile's zero
// padding corrupts the result most), then rises linearly over `ramp` samples to 1. Neighbours
// overlap by 2 margin + ramp, so their ramps coincide and the weights sum to 1.
at::Tensor blend_weights(int64_t begin, int64_t end, int64_t total, int64_t margin, int64_t ramp) {
  const int64_t n = end - begin;
  std::vector<float> w(size_t(n), 1.0f);
  auto edge = [&](int64_t d) {  // d = distance from the edge in samples
    if (d < margin) return 0.0f;
    return std::min(1.0f, float(d - margin + 0.5) / float(ramp));
  };
  for (int64_t i = 0; i < n; ++i) {
    if (begin > 0) w[size_t(i)] = std::min(w[size_t(i)], edge(i));
    if (end < total) w[size_t(i)] = std::min(w[size_t(i)], edge(n - 1 - i));
  }
  return at::tensor(w);  // [n]
}

}  // namespace

namespace vae {

// Runs chunks through the encoder or decoder, whole or in spatial tiles, each tile with its own
// causal caches. Coordinates are in latent pixels; the input and output are `in_scale` and
// `out_scale` times larger.
struct TiledRunner {
  const WanVAE::Impl* impl = nullptr;
  bool decoder = true;
  WanVAETiling tiling;
  std::vector<Span> h_spans, w_spans;
  std::vector<Cache> caches;
  bool ready = false;

  Cache shared;  // the untiled latent-resolution part when tiling

  at::Tensor run_part(const at::Tensor& x, Cache& cache, CoderPart part) const {
    return coder_forward(decoder ? impl->decoder : impl->encoder, x, cache, impl->dtype, part);
  }

  // x [B, C, t, hl * in_scale, wl * in_scale] in the compute dtype.
  at::Tensor run(const at::Tensor& x, int64_t hl, int64_t wl) {
    if (!ready) {
      int64_t tile = tiling.tile_latent;
      if (tile == 0 && tiling.auto_budget_bytes > 0 && decoder) {
        // Shrink square tiles until one chunk fits the budget.
        tile = std::max(hl, wl);
        while (tile > 2 * tiling.overlap_latent + 2 &&
               impl_estimate(std::min(tile, hl), std::min(tile, wl)) > tiling.auto_budget_bytes) {
          tile = tile * 3 / 4;
        }
        if (tile >= std::max(hl, wl)) tile = 0;
      }
      h_spans = tile_spans(hl, tile, tiling.overlap_latent);
      w_spans = tile_spans(wl, tile, tiling.overlap_latent);
      caches.assign(h_spans.size() * w_spans.size(), Cache{});
      ready = true;
    }
    if (caches.size() == 1) return run_part(x, caches[0], CoderPart::All);
    // The decoder's latent-resolution part runs on the whole frame first; the encoder's after the
    // tiles are blended.
    const at::Tensor input = decoder ? run_part(x, shared, CoderPart::LatentRes) : x;
    const at::Tensor blended = blend_tiles(input, hl, wl);
    return decoder ? blended : run_part(blended, shared, CoderPart::LatentRes);
  }

  at::Tensor blend_tiles(const at::Tensor& x, int64_t hl, int64_t wl) {
    const CoderPart part = CoderPart::Tiled;
    const int64_t in_scale = x.size(3) / hl;
    at::Tensor acc, weight_sum;
    int64_t out_scale = 0;
    size_t index = 0;
    for (const Span& hs : h_spans) {
      for (const Span& ws : w_spans) {
        const at::Tensor tile_in =
            x.narrow(3, hs.begin * in_scale, (hs.end - hs.begin) * in_scale)
                .narrow(4, ws.begin * in_scale, (ws.end - ws.begin) * in_scale);
        const at::Tensor out = run_part(tile_in, caches[index++], part).to(at::kFloat);
        if (!acc.defined()) {
          out_scale = out.size(3) / (hs.end - hs.begin);
          acc = at::zeros({out.size(0), out.size(1), out.size(2), hl * out_scale, wl * out_scale},
                          out.options());  // [B, C, t, H, W]
          weight_sum = at::zeros({hl * out_scale, wl * out_scale}, out.options());
        }
        // A quarter of the overlap on each side is discarded, the middle half is blended.
        const int64_t margin = tiling.overlap_latent * out_scale / 4;
        const int64_t ramp = std::max<int64_t>(1, tiling.overlap_latent * out_scale - 2 * margin);
        const at::Tensor wh =
            blend_weights(hs.begin * out_scale, hs.end * out_scale, hl * out_scale, margin, ramp);
        const at::Tensor ww =
            blend_weights(ws.begin * out_scale, ws.end * out_scale, wl * out_scale, margin, ramp);
        const at::Tensor w2 = at::outer(wh, ww).to(out.device());  // [h, w]
        acc.narrow(3, hs.begin * out_scale, out.size(3))
            .narrow(4, ws.begin * out_scale, out.size(4))
            .add_(out * w2);
        weight_sum.narrow(0, hs.begin * out_scale, out.size(3))
            .narrow(1, ws.begin * out_scale, out.size(4))
            .add_(w2);
      }
    }
    return acc.div_(weight_sum).to(impl->dtype);
  }

  int64_t impl_estimate(int64_t hl, int64_t wl) const;
};

}  // namespace vae
using vae::TiledRunner;

namespace {

int64_t estimate_decode_bytes_impl(const WanVAE::Impl& m, int64_t hl, int64_t wl) {
  // The largest activations of a chunk: the last decoder stage at full resolution, a few live
  // tensors of (channels x frames x pixels) at once.
  const WanVAEConfig& c = m.config;
  const int64_t s = c.spatial_stride() / (c.version == WanVAEVersion::V2_2 ? 2 : 1);
  const int64_t ch = c.dec_dim * c.dim_mult.front() * 2;
  const int64_t frames = c.temporal_stride() + 2;
  const int64_t elem = m.dtype == at::kFloat ? 4 : 2;
  return int64_t(5) * ch * frames * hl * s * wl * s * elem;
}

}  // namespace

int64_t vae::TiledRunner::impl_estimate(int64_t hl, int64_t wl) const {
  return estimate_decode_bytes_impl(*impl, hl, wl);
}

// ---- Impl: one chunk ------------------------------------------------------------------------

// ---- streams --------------------------------------------------------------------------------

struct WanVAE::DecodeStream::State {
  std::shared_ptr<const WanVAE::Impl> impl;
  TiledRunner runner;
  const CancellationToken* cancel = nullptr;
  int64_t frames_out = 0;
  int64_t batch = -1, h = -1, w = -1;
};

struct WanVAE::EncodeStream::State {
  std::shared_ptr<const WanVAE::Impl> impl;
  TiledRunner runner;
  const CancellationToken* cancel = nullptr;
  int64_t frames_in = 0;
  at::Tensor pending;  // frames waiting for a full group of 4 [B, 3, n, H, W]
  int64_t batch = -1, h = -1, w = -1;
};

namespace {

void check_cancel(const CancellationToken* cancel) {
  if (cancel != nullptr) cancel->throw_if_cancelled();
}

void check_latent(const WanVAE::Impl& m, const at::Tensor& z) {
  if (z.dim() != 5) {
    throw invalid("latent must be [B, C, F, H, W]; got " + shape_string(z));
  }
  if (z.size(1) != m.config.z_dim) {
    throw invalid("latent has " + std::to_string(z.size(1)) + " channels; this VAE (Wan " +
                  to_string(m.config.version) + ") takes " + std::to_string(m.config.z_dim));
  }
  if (z.size(2) < 1 || z.size(3) < 1 || z.size(4) < 1 || z.size(0) < 1) {
    throw invalid("latent " + shape_string(z) + " is empty");
  }
  if (!at::isFloatingType(z.scalar_type())) throw invalid("latent must be a floating tensor");
}

void check_video(const WanVAE::Impl& m, const at::Tensor& v, bool whole_clip) {
  if (v.dim() != 5) throw invalid("video must be [B, 3, T, H, W]; got " + shape_string(v));
  if (v.size(1) != 3) {
    throw invalid("video has " + std::to_string(v.size(1)) + " channels; expected 3 (RGB)");
  }
  if (!at::isFloatingType(v.scalar_type())) throw invalid("video must be a floating tensor");
  if (whole_clip) validate_frame_count(v.size(2), 4);
  const int64_t s = m.config.spatial_stride();
  for (int axis : {3, 4}) {
    const int64_t n = v.size(axis);
    if (n < s || n % s != 0) {
      throw invalid(std::string(axis == 3 ? "height " : "width ") + std::to_string(n) +
                    " px is not a multiple of the VAE stride " + std::to_string(s) + "; " +
                    nearest_valid(n, s) +
                    " (crop or pad the video first; the VAE does not pad itself)");
    }
  }
}

// Latent frame(s) [B, z, n, h, w] normalised -> frames [B, 3, m, H, W] float32.
at::Tensor decode_frames(const WanVAE::Impl& m, TiledRunner& runner, const at::Tensor& z,
                         const CancellationToken* cancel, int64_t& frames_out) {
  const at::Tensor zf = z.to(m.device, at::kFloat);
  const int64_t n = zf.size(2);
  std::vector<at::Tensor> outs;
  for (int64_t i = 0; i < n; ++i) {
    check_cancel(cancel);
    const at::Tensor mean = m.mean.view({1, -1, 1, 1, 1}), inv = m.inv_std.view({1, -1, 1, 1, 1});
    // z / (1 / std) + mean, as the reference un-normalises.
    const at::Tensor raw = zf.narrow(2, i, 1).div(inv).add_(mean).to(m.dtype);  // [B, z, 1, h, w]
    const at::Tensor x = conv3d(raw, m.conv2.weight, m.conv2.bias);
    at::Tensor out = runner.run(x, x.size(3), x.size(4)).to(at::kFloat);
    if (m.config.version == WanVAEVersion::V2_2) out = unpatchify(out);
    frames_out += out.size(2);
    outs.push_back(out);
  }
  return outs.size() == 1 ? outs[0] : at::cat(outs, 2);
}

// One encoder chunk (1 or 4 frames) [B, 3, t, H, W] -> conv1 output [B, 2z, n, h, w] float32.
at::Tensor encode_chunk(const WanVAE::Impl& m, TiledRunner& runner, const at::Tensor& video) {
  at::Tensor x = video.to(m.device, m.dtype);
  if (m.config.version == WanVAEVersion::V2_2) x = patchify(x);
  const int64_t s = m.config.spatial_stride();
  const at::Tensor enc = runner.run(x, video.size(3) / s, video.size(4) / s);
  return conv3d(enc, m.conv1.weight, m.conv1.bias).to(at::kFloat);
}

at::Tensor normalise(const WanVAE::Impl& m, const at::Tensor& mu) {
  return (mu - m.mean.view({1, -1, 1, 1, 1})) * m.inv_std.view({1, -1, 1, 1, 1});
}

TiledRunner make_runner(const WanVAE::Impl* impl, bool decoder, const WanVAETiling& tiling) {
  if (tiling.tile_latent < 0 || tiling.overlap_latent < 0 ||
      (tiling.tile_latent > 0 && tiling.overlap_latent >= tiling.tile_latent)) {
    throw invalid("tile " + std::to_string(tiling.tile_latent) + " with overlap " +
                  std::to_string(tiling.overlap_latent) +
                  " latent px: the overlap must be >= 0 and less than the tile");
  }
  TiledRunner r;
  r.impl = impl;
  r.decoder = decoder;
  r.tiling = tiling;
  return r;
}

}  // namespace

WanVAE::DecodeStream::DecodeStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
WanVAE::DecodeStream::~DecodeStream() = default;
WanVAE::DecodeStream::DecodeStream(DecodeStream&&) noexcept = default;
WanVAE::DecodeStream& WanVAE::DecodeStream::operator=(DecodeStream&&) noexcept = default;
int64_t WanVAE::DecodeStream::frames_out() const { return state_->frames_out; }

at::Tensor WanVAE::DecodeStream::push(const at::Tensor& latent) {
  c10::InferenceMode guard;
  State& s = *state_;
  check_latent(*s.impl, latent);
  if (s.batch >= 0 &&
      (latent.size(0) != s.batch || latent.size(3) != s.h || latent.size(4) != s.w)) {
    throw invalid("latent " + shape_string(latent) + " does not continue the stream's [" +
                  std::to_string(s.batch) + ", C, F, " + std::to_string(s.h) + ", " +
                  std::to_string(s.w) + "]");
  }
  s.batch = latent.size(0);
  s.h = latent.size(3);
  s.w = latent.size(4);
  return decode_frames(*s.impl, s.runner, latent, s.cancel, s.frames_out);
}

WanVAE::DecodeStream WanVAE::decode_stream(const WanVAEDecodeOptions& options) const {
  auto state = std::make_unique<DecodeStream::State>();
  state->impl = impl_;
  state->runner = make_runner(impl_.get(), true, options.tiling);
  state->cancel = options.cancel;
  return DecodeStream(std::move(state));
}

WanVAE::EncodeStream::EncodeStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
WanVAE::EncodeStream::~EncodeStream() = default;
WanVAE::EncodeStream::EncodeStream(EncodeStream&&) noexcept = default;
WanVAE::EncodeStream& WanVAE::EncodeStream::operator=(EncodeStream&&) noexcept = default;
int64_t WanVAE::EncodeStream::frames_in() const { return state_->frames_in; }

at::Tensor WanVAE::EncodeStream::push(const at::Tensor& video) {
  c10::InferenceMode guard;
  State& s = *state_;
  const WanVAE::Impl& m = *s.impl;
  check_video(m, video, false);
  if (s.pending.defined() || s.frames_in > 0) {
    if (video.size(0) != s.batch || video.size(3) != s.h || video.size(4) != s.w) {
      throw invalid("video " + shape_string(video) + " does not continue the stream's [" +
                    std::to_string(s.batch) + ", 3, T, " + std::to_string(s.h) + ", " +
                    std::to_string(s.w) + "]");
    }
  }
  s.batch = video.size(0);
  s.h = video.size(3);
  s.w = video.size(4);
  at::Tensor frames = s.pending.defined() ? at::cat({s.pending, video.to(at::kFloat)}, 2)
                                          : video.to(at::kFloat);  // [B, 3, n, H, W]
  std::vector<at::Tensor> moments;
  int64_t used = 0;
  while (true) {
    const int64_t need = s.frames_in == 0 ? 1 : 4;  // frame 0 alone, then groups of 4
    if (frames.size(2) - used < need) break;
    check_cancel(s.cancel);
    moments.push_back(encode_chunk(m, s.runner, frames.narrow(2, used, need)));
    used += need;
    s.frames_in += need;
  }
  s.pending =
      used < frames.size(2) ? frames.narrow(2, used, frames.size(2) - used).clone() : at::Tensor();
  const int64_t s_px = m.config.spatial_stride();
  if (moments.empty()) {
    return at::zeros({video.size(0), m.config.z_dim, 0, video.size(3) / s_px, video.size(4) / s_px},
                     at::TensorOptions().device(m.device).dtype(at::kFloat));
  }
  const at::Tensor out = moments.size() == 1 ? moments[0] : at::cat(moments, 2);
  return normalise(m, out.narrow(1, 0, m.config.z_dim));
}

WanVAE::EncodeStream WanVAE::encode_stream(const WanVAEDecodeOptions& options) const {
  auto state = std::make_unique<EncodeStream::State>();
  state->impl = impl_;
  state->runner = make_runner(impl_.get(), false, options.tiling);
  state->cancel = options.cancel;
  return EncodeStream(std::move(state));
}

// ---- whole clips ----------------------------------------------------------------------------

std::pair<at::Tensor, at::Tensor> WanVAE::encode_moments(const at::Tensor& video,
                                                         const WanVAEDecodeOptions& options) const {
  c10::InferenceMode guard;
  const Impl& m = *impl_;
  check_video(m, video, true);
  TiledRunner runner = make_runner(&m, false, options.tiling);
  const int64_t t = video.size(2);
  std::vector<at::Tensor> outs;
  for (int64_t begin = 0; begin < t;) {
    check_cancel(options.cancel);
    const int64_t len = begin == 0 ? 1 : 4;
    outs.push_back(encode_chunk(m, runner, video.narrow(2, begin, len)));
    begin += len;
  }
  const at::Tensor out = outs.size() == 1 ? outs[0] : at::cat(outs, 2);  // [B, 2z, F, h, w]
  const int64_t z = m.config.z_dim;
  return {out.narrow(1, 0, z), out.narrow(1, z, z)};
}

at::Tensor WanVAE::encode(const at::Tensor& video, const WanVAEDecodeOptions& options) const {
  c10::InferenceMode guard;
  return normalise(*impl_, encode_moments(video, options).first);
}

void WanVAE::decode_streaming(const at::Tensor& latent, const WanVAEFrameSink& sink,
                              const WanVAEDecodeOptions& options) const {
  c10::InferenceMode guard;
  check_latent(*impl_, latent);
  DecodeStream stream = decode_stream(options);
  for (int64_t i = 0; i < latent.size(2); ++i) {
    const int64_t first = stream.frames_out();
    sink(stream.push(latent.narrow(2, i, 1)), first);
  }
}

at::Tensor WanVAE::decode(const at::Tensor& latent, const WanVAEDecodeOptions& options) const {
  c10::InferenceMode guard;
  const Impl& m = *impl_;
  check_latent(m, latent);
  const int64_t f = latent.size(2), ts = m.config.temporal_stride();
  const int64_t s = m.config.spatial_stride();
  // Filled chunk by chunk: no growing concatenation.
  at::Tensor out =
      at::empty({latent.size(0), 3, 1 + ts * (f - 1), latent.size(3) * s, latent.size(4) * s},
                at::TensorOptions().device(m.device).dtype(at::kFloat));
  decode_streaming(
      latent,
      [&](const at::Tensor& frames, int64_t first) {
        out.narrow(2, first, frames.size(2)).copy_(frames);
      },
      options);
  return out;
}

int64_t wan_vae_conv_flops() { return g_conv_flops.load(std::memory_order_relaxed); }

int64_t WanVAE::estimate_decode_bytes(int64_t latent_h, int64_t latent_w) const {
  return estimate_decode_bytes_impl(*impl_, latent_h, latent_w);
}

at::Tensor WanVAE::causal_conv3d_reference(const at::Tensor& x, const at::Tensor& weight,
                                           const at::Tensor& bias) {
  c10::InferenceMode guard;
  return causal_conv(x, Conv{weight, bias}, at::Tensor());
}

// ---- accessors ------------------------------------------------------------------------------

WanVAE::WanVAE(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
const WanVAEConfig& WanVAE::config() const { return impl_->config; }
at::Device WanVAE::device() const { return impl_->device; }
at::ScalarType WanVAE::compute_dtype() const { return impl_->dtype; }
const at::Tensor& WanVAE::latent_mean() const { return impl_->mean; }
const at::Tensor& WanVAE::latent_std() const { return impl_->std_; }

int64_t WanVAE::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->parameters) n += p.second.numel();
  return n;
}

int64_t WanVAE::weight_bytes() const {
  int64_t n = 0;
  for (const auto& p : impl_->parameters) n += p.second.numel() * int64_t(p.second.element_size());
  return n;
}

std::vector<std::pair<std::string, at::Tensor>> WanVAE::named_parameters() const {
  return impl_->parameters;
}

}  // namespace reelforge::models
