#pragma once
// The Wan diffusion transformer (DiT): Wan 2.1 text-to-video and Wan 2.2 TI2V (per-token
// timesteps, first latent frame conditioned) in plain ATen ops, numerically matching the public
// reference `wan/modules/model.py` (float32 path checked against the golden fixtures to 1e-4).
//
// The config is read from the weights' shapes, so the 1.3B, 5B and 14B checkpoints load without
// code changes; the official key names, ComfyUI's files (prefixed, fp8 "scaled") and diffusers'
// WanTransformer3DModel names are recognised from the keys.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/models/attention.hpp"

namespace reelforge::tensors {
class Checkpoint;
}

namespace reelforge::models {

// t2v: one timestep per sample (Wan 2.1 and 2.2 T2V). ti2v: Wan 2.2 TI2V-5B, called with per-token
// timesteps so that the clean first latent frame gets t = 0. The weights are the same; the type
// tells the pipeline how to call the model.
enum class WanModelType { T2V, TI2V };
const char* to_string(WanModelType type);                    // "t2v", "ti2v"
WanModelType parse_wan_model_type(const std::string& name);  // Error(InvalidArgument) otherwise

// What the network's output means. Wan's own checkpoints predict the flow velocity noise - x0;
// a model trained to predict the clean latent x0 itself (ReelForge's built-in model can be) keeps
// its output on the data's low-dimensional manifold, which a narrow network finds much easier
// than carrying the noise through ("Back to Basics: Let Denoising Generative Models Denoise",
// Li & He, 2025). Samplers always work with the velocity: see velocity_from_output().
enum class WanPrediction { Velocity, Clean };
const char* to_string(WanPrediction prediction);              // "velocity", "clean"
WanPrediction parse_wan_prediction(const std::string& name);  // Error(InvalidArgument) otherwise

// The flow velocity for a network output of kind `prediction` at x = (1 - sigma) x0 + sigma noise:
// the output itself, or (x - x0) / sigma for a clean-latent output. `sigma` is a scalar tensor or
// broadcasts against x (e.g. [B, 1, 1, 1, 1]); it must be > 0.
at::Tensor velocity_from_output(WanPrediction prediction, const at::Tensor& output,
                                const at::Tensor& x, const at::Tensor& sigma);

// Wan's DiT checkpoints name a block's weights "blocks.N.<member>" ("blocks.3.ffn.0.weight"): the
// one spelling of that layout, for the loader and for the trainer, which builds and maps blocks.
inline constexpr char kWanBlockPrefix[] = "blocks.";
struct WanBlockWeightName {
  int64_t block = 0;
  std::string member;  // "ffn.0.weight"
};
std::string wan_block_weight_name(int64_t block, const std::string& member);
// The block and member of "blocks.N.<member>" (N a block number of at most 6 digits, so it cannot
// overflow; <member> not empty); std::nullopt for any other name.
std::optional<WanBlockWeightName> split_wan_block_weight_name(const std::string& name);

// What shapes cannot tell: from a manifest, a fixture's config or the caller.
struct WanDiTHints {
  std::optional<int64_t> num_heads;        // default dim / 128 (head_dim 128 in every released Wan)
  std::optional<WanModelType> model_type;  // default TI2V when in_dim == 48, else T2V
  std::optional<int64_t> text_len;         // default 512
  std::optional<double> eps;               // default 1e-6
  std::optional<WanPrediction> prediction;  // default Velocity (every released Wan)
};

// The constructor arguments of the reference WanModel that matter for inference.
struct WanDiTConfig {
  WanModelType model_type = WanModelType::T2V;
  std::array<int64_t, 3> patch_size{1, 2, 2};  // (t, h, w)
  int64_t in_dim = 16;
  int64_t out_dim = 16;
  int64_t dim = 1536;
  int64_t ffn_dim = 8960;
  int64_t freq_dim = 256;
  int64_t text_dim = 4096;
  int64_t text_len = 512;
  int64_t num_heads = 12;
  int64_t num_layers = 30;
  bool qk_norm = true;
  bool cross_attn_norm = true;
  double eps = 1e-6;
  WanPrediction prediction = WanPrediction::Velocity;

  int64_t head_dim() const { return dim / num_heads; }
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }

  // Infers everything but num_heads / model_type / text_len / eps / prediction from the shapes
  // (canonical, i.e. official, names relative to the DiT prefix). Error(Format) when a needed
  // tensor is missing or has an impossible shape; Error(InvalidArgument) when num_heads cannot
  // be inferred (dim not a multiple of 128) and no hint gives it.
  static WanDiTConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                   const WanDiTHints& hints = {});
  // Same from a checkpoint in any supported key layout; `prefix` nullopt = detect.
  static WanDiTConfig from_weights(const tensors::Checkpoint& weights,
                                   const WanDiTHints& hints = {},
                                   const std::optional<std::string>& prefix = std::nullopt);

  // The released sizes: "wan2.1-1.3b", "wan2.1-14b", "wan2.2-5b". Error(InvalidArgument) naming
  // the valid ones otherwise.
  static WanDiTConfig preset(const std::string& variant);

  // Error(InvalidArgument) for combinations the model cannot run (odd head_dim, dim not divisible
  // by num_heads, non-positive sizes).
  void validate() const;
};

// How a checkpoint names the DiT weights.
enum class WanDiTLayout {
  Auto,       // detect from the keys
  Official,   // Wan's own names (the fixtures, the official release)
  ComfyUI,    // the official names behind a prefix, possibly fp8 with `*.scale_weight`
  Diffusers,  // WanTransformer3DModel names
};
const char* to_string(WanDiTLayout layout);

// The result of looking at a checkpoint's keys: the layout, the prefix in front of every DiT key,
// and the map from each checkpoint key to its official (canonical) name.
struct WanDiTKeyMap {
  WanDiTLayout layout = WanDiTLayout::Official;
  std::string prefix;
  bool fp8_scaled = false;                           // `*.scale_weight` tensors are present
  std::map<std::string, std::string> to_canonical;   // checkpoint key -> canonical name
  std::map<std::string, std::string> weight_scales;  // canonical weight -> checkpoint scale key
  std::vector<std::string> ignored;                  // markers such as `scaled_fp8`

  // Error(Format) when no key looks like a Wan DiT (nothing ends in patch_embedding.weight).
  // Keys outside `prefix` and keys starting with any of `ignore_prefixes` are not considered.
  static WanDiTKeyMap detect(const std::vector<std::string>& names,
                             WanDiTLayout layout = WanDiTLayout::Auto,
                             const std::optional<std::string>& prefix = std::nullopt,
                             const std::vector<std::string>& ignore_prefixes = {});
};

struct WanDiTLoadOptions {
  Device device = Device::Auto;             // Auto: compute_info().device
  ComputeDType dtype = ComputeDType::Auto;  // Auto: compute_info().dtype
  WanDiTLayout layout = WanDiTLayout::Auto;
  std::optional<std::string> prefix;  // nullopt: detect
  WanDiTHints hints;
  // Keys that are not weights (e.g. a fixture's "input.", "output.", "debug."); every other key
  // under the prefix must be a DiT weight or loading fails listing the unexpected ones.
  std::vector<std::string> ignore_prefixes;
};

struct WanDiTForwardOptions {
  AttentionOptions attention;
  const CancellationToken* cancel = nullptr;  // checked before every block
  // Called with intermediates named like the fixtures' debug tensors ("x_embedded", "e", "e0",
  // "context_embedded", "block0_self_attn_out", "block0_cross_attn_out", "block0_out", ...,
  // "head_out"); token tensors are [B, L, ...] with L = the longest sample (not seq_len).
  std::function<void(const std::string& name, const at::Tensor& value)> trace;
};

// The cross-attention keys and values of every block for a batch of embedded text. They depend
// on the text only, so a sampler makes them once per prompt (WanDiT::prepare_text) and reuses
// them at every step instead of recomputing them in each forward, as the reference does: the
// same numbers, 15% fewer FLOPs per step for Wan 2.1-1.3B at 300 tokens.
struct WanDiTTextKV {
  at::Tensor text;             // [B, text_len, dim] from embed_text()
  std::vector<at::Tensor> k;   // per block [B, heads, text_len, head_dim], compute dtype
  std::vector<at::Tensor> v;   // per block [B, heads, text_len, head_dim], compute dtype
};

// Cost of one forward: multiply-adds of every matmul, convolution and attention product x 2.
double wan_dit_forward_flops(const WanDiTConfig& config, int64_t tokens, int64_t batch = 1);

// The Wan DiT with its weights on one device. Weights are shared between copies (copying is
// cheap) and never modified by forward(), so one model can serve several threads.
// Activations: the residual stream, modulation, norms and RoPE are float32; matmuls run in the
// compute dtype (float32 or bf16) with float32 softmax statistics.
class WanDiT {
 public:
  static WanDiT load(const tensors::Checkpoint& weights, const WanDiTLoadOptions& options = {});
  // Random weights at the config's real sizes, created in place on the device (for benchmarks
  // and tests): matrices N(0, 1/sqrt(fan_in)), biases N(0, 0.02), modulation N(0, 0.1), norms 1.
  static WanDiT random(const WanDiTConfig& config, const WanDiTLoadOptions& options = {},
                       uint64_t seed = 0);

  const WanDiTConfig& config() const;
  at::Device device() const;
  at::ScalarType compute_dtype() const;
  int64_t parameter_count() const;  // as the reference counts them
  int64_t weight_bytes() const;     // memory the weights take on the device
  // Every parameter under its official name and checkpoint shape, as views of the model's own
  // storage (fused q/k/v appear as their parts): for saving, converting and comparing.
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;

  // Mirrors WanModel.forward: x[i] is a latent [C_in, F, H, W]; t is [B] (one timestep per
  // sample) or [B, seq_len] (per token, Wan 2.2); context[i] is [L_i, text_dim] with
  // L_i <= text_len (zero-padded to text_len, not masked); seq_len >= every sample's token count.
  // Returns one float32 prediction [C_out, F, H, W] per sample on the model's device.
  // Error(InvalidArgument) for sizes or shapes the model cannot take.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& x, const at::Tensor& t,
                                  const std::vector<at::Tensor>& context, int64_t seq_len,
                                  const WanDiTForwardOptions& options = {}) const;

  // The batched path for same-sized latents (e.g. the conditional and unconditional halves of
  // classifier-free guidance): x [B, C_in, F, H, W], t [B] or [B, tokens], text from
  // embed_text() [B, text_len, dim] (embed once per prompt, reuse at every step).
  // Returns float32 [B, C_out, F, H, W].
  at::Tensor forward_batch(const at::Tensor& x, const at::Tensor& t, const at::Tensor& text,
                           const WanDiTForwardOptions& options = {}) const;

  // As above with the text's cross-attention keys and values made beforehand (prepare_text).
  at::Tensor forward_batch(const at::Tensor& x, const at::Tensor& t, const WanDiTTextKV& text,
                           const WanDiTForwardOptions& options = {}) const;
  // The text embedding MLP over contexts zero-padded to text_len: [B, text_len, dim].
  at::Tensor embed_text(const std::vector<at::Tensor>& context) const;
  // embed_text() and every block's cross-attention keys and values for it.
  WanDiTTextKV prepare_text(const std::vector<at::Tensor>& context) const;

  // Time embedding of t ([B] or [B, L], any numeric dtype): e [B, 1 or L, dim] and the six
  // modulation vectors e0 [B, 1 or L, 6, dim], float32. Features are computed in float64.
  std::pair<at::Tensor, at::Tensor> embed_time(const at::Tensor& t) const;

  // [cos(t * w_i)..., sin(t * w_i)...] with w_i = 10000^(-i / (freq_dim / 2)), computed in
  // float64 and returned as float32 [N, freq_dim] for t [N].
  static at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t freq_dim);

  // The RoPE table: [positions, head_dim / 2, 2] float64 (cos, sin); the columns are the frame,
  // height and width frequencies side by side, split [c - 2 (c / 3), c / 3, c / 3].
  static at::Tensor rope_table(int64_t head_dim, int64_t positions = 1024);

  // Per-token (cos, sin) for samples with token grids (F, H, W): [B, L, 1, head_dim / 2, 2]
  // float32; rows past a sample's token count are the identity rotation (cos 1, sin 0).
  at::Tensor rope_cos_sin(const std::vector<std::array<int64_t, 3>>& grids, int64_t length) const;

  // Rotates adjacent pairs (x[2i], x[2i+1]) of x [B, L, H, head_dim] by cos_sin from
  // rope_cos_sin(); float32 math, result in x's dtype.
  static at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos_sin);

  struct Impl;

 private:
  explicit WanDiT(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace reelforge::models
