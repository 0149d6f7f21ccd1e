#pragma once
// A model loaded and ready to generate: the DiT and the VAE resident on the compute device, the
// tokenizer, and the text encoder, which is only needed while prompts are encoded and is the
// largest part of a Wan model (umT5-XXL: 11 GB in bf16). Encoded prompts are cached, so a
// storyboard that repeats a prompt, or a second render of the same project, encodes it once.
//
// Memory modes (for users whose GPU memory is short): Low runs the text encoder on the CPU and
// releases it once the prompts are encoded, and tiles the VAE decode. Streaming DiT blocks from
// CPU memory is not implemented (see docs/pipeline.md): the DiT is loaded whole on its device.

#include <ATen/core/Tensor.h>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/models/latent_preview.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/models/umt5.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/models/wan_vae.hpp"

namespace reelforge::pipeline {

enum class MemoryMode {
  Auto,    // Low on CUDA (consumer GPUs cannot hold umT5-XXL beside the DiT), Normal on the CPU
  Normal,  // everything on the compute device; the text encoder stays loaded for later prompts
  Low,     // text encoder on the CPU, released after encoding; VAE decode tiled
};
const char* to_string(MemoryMode mode);         // "auto", "normal", "low"
MemoryMode parse_memory_mode(std::string_view text);  // Error(InvalidArgument) listing the valid

struct RuntimeOptions {
  Device device = Device::Auto;             // Auto: compute_info().device
  ComputeDType dtype = ComputeDType::Auto;  // Auto: compute_info().dtype
  MemoryMode memory = MemoryMode::Auto;
};

class ModelRuntime {
 public:
  // Loads the DiT, the VAE and the tokenizer of `manifest` (the text encoder on first use).
  // Error(NotFound) naming missing files, Error(Format) for weights that do not match.
  static std::shared_ptr<ModelRuntime> load(const models::ModelManifest& manifest,
                                            const RuntimeOptions& options = {},
                                            const CancellationToken& cancel = {});

  const models::ModelManifest& manifest() const { return manifest_; }
  const models::WanDiT& dit() const { return dit_; }
  const models::WanVAE& vae() const { return vae_; }
  const models::T5Tokenizer& tokenizer() const { return *tokenizer_; }
  const models::LatentPreview& preview() const { return preview_; }
  MemoryMode memory_mode() const { return memory_; }  // resolved, never Auto
  at::Device device() const;
  // True when keyframes can steer the DiT (see pipeline::model_conditions_on_images).
  bool conditions_on_images() const;
  // Tokens the prompt takes in the text encoder (EOS included) and the encoder's limit.
  int64_t count_tokens(std::string_view prompt) const;
  int64_t max_prompt_tokens() const;

  // The text context of each prompt, [L_i, text_dim] float32 on the DiT's device (L_i = its real
  // tokens), from the cache or the text encoder (loaded when needed). Thread-safe.
  std::vector<at::Tensor> encode_text(const std::vector<std::string>& prompts,
                                      const CancellationToken& cancel = {});
  // Puts already encoded contexts into the cache (a resumed job's saved contexts).
  void cache_text(const std::string& prompt, const at::Tensor& context);
  void release_text_encoder();
  bool text_encoder_loaded() const;

  // VAE options for this runtime's memory mode (tiled decode in Low mode), with `cancel`.
  models::WanVAEDecodeOptions vae_options(const CancellationToken* cancel) const;

 private:
  ModelRuntime(models::ModelManifest manifest, models::WanDiT dit, models::WanVAE vae,
               std::unique_ptr<models::T5Tokenizer> tokenizer, models::LatentPreview preview,
               MemoryMode memory);
  void load_text_encoder();

  models::ModelManifest manifest_;
  models::WanDiT dit_;
  models::WanVAE vae_;
  std::unique_ptr<models::T5Tokenizer> tokenizer_;
  models::LatentPreview preview_;
  MemoryMode memory_;
  mutable std::mutex text_mutex_;
  std::optional<models::UMT5Encoder> text_encoder_;
  std::map<std::string, at::Tensor> text_cache_;
};

// The checkpoint a component's file list names: one file, or the `.index.json` among shards.
// Error(NotFound) naming the missing file, Error(Format) for several files without an index.
std::filesystem::path component_checkpoint_path(const models::ModelManifest& manifest,
                                                const std::vector<std::string>& files,
                                                const char* component);

}  // namespace reelforge::pipeline
