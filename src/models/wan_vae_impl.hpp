#pragma once
// Internals of models::WanVAE shared by wan_vae.cpp (forward, caches, tiling) and
// wan_vae_weights.cpp (config, key layouts, loading). Not a public header.

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "reelforge/models/wan_vae.hpp"
#include "reelforge/tensors/device.hpp"

namespace reelforge::models::vae {

// A convolution as the reference holds it: weight [O, I, kt, kh, kw] (2-D convs are stored with
// kt = 1 so that every conv runs as conv3d on [B, C, T, H, W] without reshaping to frames).
struct Conv {
  at::Tensor weight;
  at::Tensor bias;
};

// RMS_norm: x / max(||x||_2 over channels, 1e-12) * sqrt(C) * gamma. `scale` is sqrt(C) * gamma
// as [1, C, 1, 1, 1] float32.
struct RMSNorm {
  at::Tensor scale;
};

enum class LayerKind { Residual, Attention, Resample };
enum class ResampleMode { Up2D, Up3D, Down2D, Down3D };

// One entry of the reference's nn.Sequential lists: a ResidualBlock, an AttentionBlock or a
// Resample. Unused members stay empty.
struct Layer {
  LayerKind kind = LayerKind::Residual;
  // Residual
  RMSNorm norm1, norm2;
  Conv conv1, conv2;
  bool has_shortcut = false;
  Conv shortcut;  // 1x1x1
  // Attention
  RMSNorm norm;
  at::Tensor qkv_weight, qkv_bias;    // [3C, C], [3C]
  at::Tensor proj_weight, proj_bias;  // [C, C], [C]
  // Resample
  ResampleMode mode = ResampleMode::Up2D;
  Conv spatial;    // [O, I, 1, 3, 3]
  Conv time_conv;  // [O, I, 3, 1, 1]
};

// Wan 2.2's residual groups add a parameter-free shortcut around the stage.
struct GroupShortcut {
  bool present = false;
  bool up = false;  // DupUp3D (decoder) or AvgDown3D (encoder)
  int64_t in_channels = 0, out_channels = 0, factor_t = 1, factor_s = 1;
};

struct Stage {
  std::vector<Layer> layers;
  GroupShortcut shortcut;
};

// Encoder3d or Decoder3d.
struct Coder {
  bool decoder = false;
  Conv conv_in;
  std::vector<Stage> stages;  // 2.1: one stage per reference layer (no group shortcuts)
  std::vector<Layer> middle;  // residual, attention, residual
  RMSNorm head_norm;
  Conv head_conv;
  int64_t cache_slots = 0;  // causal caches one chunk uses
};

// Per-call state of the causal caches, one slot per cached layer in call order (the reference's
// feat_cache list). `rep` marks the reference's 'Rep' state of upsample3d.
struct Cache {
  std::vector<at::Tensor> slots;
  std::vector<uint8_t> rep;
  size_t index = 0;
  bool first_chunk = true;
  void reset_index() { index = 0; }
  size_t next() {
    if (index >= slots.size()) {
      slots.emplace_back();
      rep.push_back(0);
    }
    return index++;
  }
};

enum class CoderPart { All, LatentRes, Tiled };

// One chunk through `coder` (or part of it, see CoderPart), advancing `cache`.
at::Tensor coder_forward(const Coder& coder, const at::Tensor& input, Cache& cache,
                         at::ScalarType dt, CoderPart part);

}  // namespace reelforge::models::vae

namespace reelforge::models {

struct WanVAE::Impl {
  WanVAEConfig config;
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
  vae::Coder encoder, decoder;
  vae::Conv conv1, conv2;    // 1x1x1: moments, latent input
  at::Tensor mean, inv_std;  // [z] float32; the reference multiplies by 1 / std
  at::Tensor std_;           // [z] float32
  std::vector<std::pair<std::string, at::Tensor>> parameters;  // official names, as loaded

  // Supplies each parameter by official name and shape: loading takes it from a state dict,
  // random() creates it.
  using Source = std::function<at::Tensor(const std::string& name, std::vector<int64_t> shape)>;
  // Builds the architecture of `config`, asking `source` for every parameter.
  static std::shared_ptr<Impl> build(const WanVAEConfig& config, at::Device device,
                                     at::ScalarType dtype, const Source& source);
  // The official names and shapes of every parameter of `config`, in build order.
  static std::vector<std::pair<std::string, std::vector<int64_t>>> parameter_shapes(
      const WanVAEConfig& config);

  void set_normalisation(const std::vector<double>& mean, const std::vector<double>& std);
};

}  // namespace reelforge::models
