#pragma once
// The umT5 text encoder Wan uses to turn a prompt into the DiT's text context (Wan's
// `wan/modules/t5.py` `T5Encoder` with shared_pos=False): a T5 encoder stack with a relative
// position bias table in every layer, RMS norms without mean subtraction, attention without the
// 1/sqrt(d) scale and a gated-GELU(tanh) feed-forward.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "reelforge/core/cancel.hpp"

namespace reelforge::tensors {
class Checkpoint;
}

namespace reelforge::models {

// How the tensors of a umT5 checkpoint are named.
enum class UMT5KeyLayout {
  Wan,          // `token_embedding.weight`, `blocks.N.attn.q.weight`, ... (official .pth, fixtures)
  HuggingFace,  // `shared.weight`, `encoder.block.N.layer.0.SelfAttention.q.weight`, ... (ComfyUI,
                // diffusers); ComfyUI's scaled fp8 files add `*.scale_weight` per weight
};
const char* to_string(UMT5KeyLayout layout);

// Where the weights are in a checkpoint: the layout and a common key prefix (e.g. a ComfyUI
// `text_encoders.umt5xxl.transformer.` wrapper), detected from the key names.
struct UMT5WeightNames {
  UMT5KeyLayout layout = UMT5KeyLayout::Wan;
  std::string prefix;

  // Error(Format) listing what was looked for when no umT5 encoder is recognised.
  static UMT5WeightNames detect(const tensors::Checkpoint& checkpoint);
};

// Sizes of a umT5 encoder. Every field can be read from the weights' shapes, so new sizes load
// without code; `xxl()` is the umT5-XXL encoder of Wan 2.1 / 2.2.
struct UMT5Config {
  int64_t vocab = 0;
  int64_t dim = 0;
  int64_t dim_attn = 0;  // num_heads * head_dim
  int64_t dim_ffn = 0;
  int64_t num_heads = 0;
  int64_t num_layers = 0;
  int64_t num_buckets = 32;    // relative position buckets, half per direction
  int64_t max_distance = 128;  // distances beyond share the last bucket (fixed in the reference)

  static UMT5Config xxl();  // vocab 256384, dim 4096, 64 heads, 24 layers, ffn 10240
  // num_heads comes from the second dim of the per-layer relative position table.
  // Error(Format) naming the tensor when a shape is inconsistent or a key is missing.
  static UMT5Config from_weights(const tensors::Checkpoint& checkpoint);
  static UMT5Config from_weights(const tensors::Checkpoint& checkpoint,
                                 const UMT5WeightNames& names);

  int64_t head_dim() const { return num_heads > 0 ? dim_attn / num_heads : 0; }
  int64_t parameter_count() const;
  // Error(InvalidArgument) naming the bad field and what is valid.
  void validate() const;
  bool operator==(const UMT5Config& other) const;
};

enum class UnexpectedKeys {
  Warn,   // log them (spdlog warn) and keep them in the load report
  Error,  // refuse the checkpoint
};

struct UMT5LoadOptions {
  c10::Device device = c10::kCPU;
  // kFloat (the reference path) or kBFloat16 (weights and matmuls in bf16; norms, softmax and the
  // residual stream in float32).
  at::ScalarType dtype = at::kFloat;
  UnexpectedKeys unexpected = UnexpectedKeys::Warn;
  // Keys starting with one of these are not weights and are skipped silently
  // (e.g. "input.", "output.", "debug." in golden fixtures).
  std::vector<std::string> ignore_prefixes;
};

// What a load found besides the weights it used.
struct UMT5LoadReport {
  UMT5KeyLayout layout = UMT5KeyLayout::Wan;
  std::string prefix;
  std::vector<std::string> unexpected;  // keys that are neither weights nor known extras
  int64_t fp8_scaled = 0;               // weights dequantised with a `scale_weight`
};

// Intermediates of one forward() call, for locating a numerical mismatch against the reference.
struct UMT5Trace {
  at::Tensor embedded;                    // [B, L, dim] token embeddings (float32)
  std::vector<at::Tensor> layer_outputs;  // per layer [B, L, dim] (float32)
};

// Error(InvalidArgument) unless `ids` is a non-empty integer [B, L] tensor and `mask` has its
// shape: what every umT5 forward (inference or training) checks before touching its inputs.
void check_umt5_inputs(const at::Tensor& ids, const at::Tensor& mask);

// The encoder itself: plain tensors and ATen calls, no torch::nn. `forward` runs every position
// (padded ones too, as the reference does); `encode` keeps the real rows per prompt, which is
// what Wan's T5EncoderModel hands to the DiT.
class UMT5Encoder {
 public:
  // Reads the config from the weights, checks every shape and loads the tensors straight to
  // options.device / options.dtype. Error(Format) listing missing keys or mismatched shapes.
  static UMT5Encoder load(const tensors::Checkpoint& checkpoint, const UMT5LoadOptions& options);

  // Random weights drawn in place on the target device and dtype (one allocation per tensor, no
  // float32 staging copy), distributed like the fixtures' weights. For benchmarks and tests.
  static UMT5Encoder random(const UMT5Config& config, const UMT5LoadOptions& options,
                            uint64_t seed = 0);

  // ids [B, L] integer token ids in [0, vocab); mask [B, L] (1 = real token, 0 = padding).
  // Returns [B, L, dim] in float32 (after the final norm). Checks `cancel` once per layer;
  // fills `trace` (copies of the intermediates) when given.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask,
                     const CancellationToken& cancel = {}, UMT5Trace* trace = nullptr) const;
  // forward(), then per prompt the first sum(mask_b) rows: [len_b, dim] each.
  std::vector<at::Tensor> encode(const at::Tensor& ids, const at::Tensor& mask,
                                 const CancellationToken& cancel = {}) const;
  // The encode() step after forward(): out [B, L, dim] and mask [B, L] -> out[b, :sum(mask_b)].
  static std::vector<at::Tensor> real_rows(const at::Tensor& out, const at::Tensor& mask);

  // Bucket of every relative position (key - query) for a sequence of `length` tokens: [L, L]
  // int64, computed on the CPU exactly like the reference (float32 log).
  at::Tensor relative_buckets(int64_t length) const;
  // Layer `layer`'s relative position bias [1, heads, L, L] (float32, on the model's device).
  at::Tensor position_bias(int64_t layer, int64_t length) const;

  const UMT5Config& config() const { return config_; }
  const UMT5LoadReport& load_report() const { return report_; }
  c10::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  size_t parameter_count() const;
  // Every weight under its Wan-layout name (`token_embedding.weight`, `blocks.N.attn.q.weight`,
  // ..., `norm.weight`: the names load() reads), as the model's own tensors in their stored
  // dtype, in load order. Saving these with tensors::save_safetensors gives a file load() takes.
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;

 private:
  struct Layer {
    at::Tensor norm1;    // [dim]
    at::Tensor q, k, v;  // [dim_attn, dim]
    at::Tensor o;        // [dim, dim_attn]
    at::Tensor pos;      // [num_buckets, heads] (float32: added to float32 logits)
    at::Tensor norm2;    // [dim]
    at::Tensor gate;     // [dim_ffn, dim] (GELU branch)
    at::Tensor fc1;      // [dim_ffn, dim] (linear branch)
    at::Tensor fc2;      // [dim, dim_ffn]
  };

  UMT5Encoder(UMT5Config config, c10::Device device, at::ScalarType dtype);

  UMT5Config config_;
  c10::Device device_;
  at::ScalarType dtype_;
  at::Tensor token_embedding_;  // [vocab, dim]
  std::vector<Layer> layers_;
  at::Tensor final_norm_;  // [dim]
  UMT5LoadReport report_;
};

// Buckets of relative positions (key_pos - query_pos, any int64 shape, CPU) exactly as the
// reference's bidirectional T5RelativeEmbedding computes them, including its float32 log: half
// the buckets per direction (the upper half for keys after the query), distances below a quarter
// of the buckets map to themselves, larger ones logarithmically up to `max_distance`.
at::Tensor umt5_relative_position_buckets(const at::Tensor& relative_positions,
                                          int64_t num_buckets = 32, int64_t max_distance = 128);

}  // namespace reelforge::models
