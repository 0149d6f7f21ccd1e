#pragma once
// Private to the Wan DiT files: the weights as the forward uses them and the table that ties each
// official parameter name to the slot it is stored in (loading and random init fill the slots).

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "reelforge/models/wan_dit.hpp"
#include "reelforge/tensors/device.hpp"

namespace reelforge::models {

struct WanLinear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]
};

struct WanBlockWeights {
  at::Tensor modulation;  // [1, 1, 6, dim] float32
  WanLinear self_qkv;     // q, k, v fused: [3 dim, dim]
  WanLinear self_o;
  at::Tensor self_norm_q;  // [dim] float32, undefined without qk_norm
  at::Tensor self_norm_k;
  at::Tensor norm3_weight;  // [dim] float32, undefined without cross_attn_norm
  at::Tensor norm3_bias;
  WanLinear cross_q;
  WanLinear cross_kv;  // k, v fused: [2 dim, dim]
  WanLinear cross_o;
  at::Tensor cross_norm_q;
  at::Tensor cross_norm_k;
  WanLinear ffn1;  // [ffn_dim, dim]
  WanLinear ffn2;  // [dim, ffn_dim]
};

// How random init fills a parameter.
enum class WanParamKind { Matrix, Bias, Modulation, NormWeight, NormBias };

// One official parameter and the view it is stored in (fused tensors give row slices).
struct WanParam {
  std::string name;            // official name, e.g. "blocks.3.self_attn.k.weight"
  std::vector<int64_t> shape;  // as stored in checkpoints
  at::Tensor slot;             // view into the model's tensors, same number of elements
  WanParamKind kind = WanParamKind::Matrix;
  int64_t fan_in = 1;
};

struct WanDiT::Impl {
  WanDiTConfig config;
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;  // matmul compute dtype

  WanLinear patch;  // conv weight [dim, C_in, pt, ph, pw] viewed as [dim, C_in * pt * ph * pw]
  WanLinear text1, text2;
  WanLinear time1, time2, time_proj;  // float32
  std::vector<WanBlockWeights> blocks;
  at::Tensor head_modulation;  // [1, 1, 2, dim] float32
  WanLinear head;              // float32 (the reference runs the head in float32)
  at::Tensor rope;             // [1024, head_dim / 2, 2] float64 on the CPU

  std::vector<WanParam> params;

  // Empty (uninitialised) weights for `config` on the device, and the parameter table.
  static std::shared_ptr<Impl> allocate(const WanDiTConfig& config, at::Device device,
                                        at::ScalarType dtype);
};

// Device and dtype from the torch-free options (Auto resolved through compute_info()).

}  // namespace reelforge::models
