#include "reelforge/pipeline/model_runtime.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "reelforge/core/error.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/pipeline/plan.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/device.hpp"

namespace reelforge::pipeline {
namespace fs = std::filesystem;

namespace {

// Decode tile edge in Low memory mode: 32 latent pixels (256 px for Wan 2.1) keeps one chunk's
// activations to a few hundred MB at 720p.
constexpr int64_t kLowMemoryTileLatent = 32;

// The manifest's own preview factors, else the published ones of the VAE version when they fit
// its latent channels, else none (a flat grey preview: the factors of another latent space would
// show noise, not a preview).
models::LatentPreview preview_for(const models::ModelManifest& manifest, const models::WanVAE& vae) {
  const int64_t z = vae.config().z_dim;
  const auto& rows = manifest.vae.preview_weight;
  if (!rows.empty()) {
    at::Tensor weight = at::empty({3, z}, at::kDouble);
    for (int64_t c = 0; c < 3; ++c) {
      if (int64_t(rows[size_t(c)].size()) != z) {
        throw Error(ErrorCategory::Format,
                    "model.json's preview factors have " + std::to_string(rows[size_t(c)].size()) +
                        " weights per colour; the VAE has " + std::to_string(z) +
                        " latent channels",
                    manifest.dir.string());
      }
      for (int64_t i = 0; i < z; ++i) weight[c][i] = rows[size_t(c)][size_t(i)];
    }
    return models::LatentPreview(weight, at::tensor(manifest.vae.preview_bias, at::kDouble));
  }
  models::LatentPreview published = models::LatentPreview::for_version(vae.config().version);
  if (published.latent_channels() == z) return published;
  spdlog::warn("model '{}' has no latent preview factors for its {} latent channels", manifest.name,
               z);
  return models::LatentPreview(at::zeros({3, z}), at::zeros({3}));
}

}  // namespace

const char* to_string(MemoryMode mode) {
  switch (mode) {
    case MemoryMode::Auto: return "auto";
    case MemoryMode::Normal: return "normal";
    case MemoryMode::Low: return "low";
  }
  return "auto";
}

MemoryMode parse_memory_mode(std::string_view text) {
  if (text == "auto") return MemoryMode::Auto;
  if (text == "normal") return MemoryMode::Normal;
  if (text == "low") return MemoryMode::Low;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown memory mode '" + std::string(text) + "'; valid: auto, normal, low");
}

fs::path component_checkpoint_path(const models::ModelManifest& manifest,
                                   const std::vector<std::string>& files, const char* component) {
  if (files.empty()) {
    throw Error(ErrorCategory::Format,
                std::string("model.json names no ") + component + " files", manifest.dir.string());
  }
  std::string chosen = files.front();
  if (files.size() > 1) {
    chosen.clear();
    for (const std::string& f : files) {
      if (f.size() > 11 && f.compare(f.size() - 11, 11, ".index.json") == 0) chosen = f;
    }
    if (chosen.empty()) {
      throw Error(ErrorCategory::Format,
                  std::string("model.json lists several ") + component +
                      " files but no *.index.json to tie the shards together; list the index",
                  manifest.dir.string());
    }
  }
  const fs::path path = manifest.dir / chosen;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error(ErrorCategory::NotFound,
                std::string("the ") + component + " weights '" + chosen + "' of model '" +
                    manifest.name + "' are missing",
                path.string());
  }
  return path;
}

std::shared_ptr<ModelRuntime> ModelRuntime::load(const models::ModelManifest& manifest,
                                                 const RuntimeOptions& options,
                                                 const CancellationToken& cancel) {
  const auto start = std::chrono::steady_clock::now();
  const at::Device device = tensors::torch_device(options.device);
  MemoryMode memory = options.memory;
  if (memory == MemoryMode::Auto) {
    memory = device.is_cuda() ? MemoryMode::Low : MemoryMode::Normal;
  }

  models::WanDiTLoadOptions dit_options;
  dit_options.device = options.device;
  dit_options.dtype = options.dtype;
  if (manifest.dit.num_heads) dit_options.hints.num_heads = *manifest.dit.num_heads;
  dit_options.hints.model_type = models::parse_wan_model_type(manifest.dit.model_type);
  dit_options.hints.text_len = manifest.text_encoder.text_len;
  dit_options.hints.prediction = models::parse_wan_prediction(manifest.dit.prediction);
  const tensors::Checkpoint dit_weights =
      tensors::Checkpoint::open(component_checkpoint_path(manifest, manifest.dit.files, "DiT"));
  models::WanDiT dit = models::WanDiT::load(dit_weights, dit_options);
  cancel.throw_if_cancelled("model loading");

  models::WanVAELoadOptions vae_options = models::WanVAELoadOptions::from_spec(manifest.vae);
  vae_options.device = options.device;
  vae_options.dtype = options.dtype;
  const tensors::Checkpoint vae_weights =
      tensors::Checkpoint::open(component_checkpoint_path(manifest, manifest.vae.files, "VAE"));
  models::WanVAE vae = models::WanVAE::load(vae_weights, vae_options);
  cancel.throw_if_cancelled("model loading");

  if (dit.config().in_dim != vae.config().z_dim || dit.config().out_dim != vae.config().z_dim) {
    throw Error(ErrorCategory::Format,
                "the DiT takes " + std::to_string(dit.config().in_dim) +
                    " latent channels but the VAE makes " + std::to_string(vae.config().z_dim) +
                    "; the model's components do not belong together",
                manifest.dir.string());
  }
  if (manifest.text_encoder.tokenizer.empty()) {
    throw Error(ErrorCategory::Format, "model.json names no tokenizer for the text encoder",
                manifest.dir.string());
  }
  models::TokenizerOptions tokenizer_options;
  tokenizer_options.text_len = manifest.text_encoder.text_len;
  auto tokenizer = std::make_unique<models::T5Tokenizer>(models::T5Tokenizer::load(
      manifest.dir / manifest.text_encoder.tokenizer, tokenizer_options));
  // The text encoder's weights are opened now so that a missing file fails before any work.
  component_checkpoint_path(manifest, manifest.text_encoder.files, "text encoder");

  models::LatentPreview preview = preview_for(manifest, vae);
  spdlog::info("loaded model '{}' ({}; DiT {:.0f} M parameters, {} on {}) in {:.1f} s",
               manifest.name, manifest.variant, dit.parameter_count() / 1e6,
               c10::toString(dit.compute_dtype()), device.str(), seconds_since(start));
  return std::shared_ptr<ModelRuntime>(new ModelRuntime(manifest, std::move(dit), std::move(vae),
                                                        std::move(tokenizer), std::move(preview),
                                                        memory));
}

ModelRuntime::ModelRuntime(models::ModelManifest manifest, models::WanDiT dit, models::WanVAE vae,
                           std::unique_ptr<models::T5Tokenizer> tokenizer,
                           models::LatentPreview preview, MemoryMode memory)
    : manifest_(std::move(manifest)),
      dit_(std::move(dit)),
      vae_(std::move(vae)),
      tokenizer_(std::move(tokenizer)),
      preview_(std::move(preview)),
      memory_(memory) {}

at::Device ModelRuntime::device() const { return dit_.device(); }

bool ModelRuntime::conditions_on_images() const {
  return dit_.config().model_type == models::WanModelType::TI2V &&
         manifest_.supports(models::Task::ImageToVideo);
}

int64_t ModelRuntime::count_tokens(std::string_view prompt) const {
  return tokenizer_->count_tokens(prompt);
}

int64_t ModelRuntime::max_prompt_tokens() const { return tokenizer_->text_len(); }

void ModelRuntime::load_text_encoder() {
  const auto start = std::chrono::steady_clock::now();
  models::UMT5LoadOptions options;
  // Low memory: the encoder runs once per prompt, so the CPU is an acceptable place for it.
  options.device = memory_ == MemoryMode::Low ? at::Device(at::kCPU) : dit_.device();
  options.dtype = dit_.compute_dtype();
  const tensors::Checkpoint weights = tensors::Checkpoint::open(
      component_checkpoint_path(manifest_, manifest_.text_encoder.files, "text encoder"));
  text_encoder_.emplace(models::UMT5Encoder::load(weights, options));
  if (text_encoder_->config().vocab < tokenizer_->vocab_size()) {
    const int64_t vocab = text_encoder_->config().vocab;
    text_encoder_.reset();
    throw Error(ErrorCategory::Format,
                "the tokenizer has " + std::to_string(tokenizer_->vocab_size()) +
                    " pieces but the text encoder only " + std::to_string(vocab) +
                    " embeddings; they do not belong together",
                manifest_.dir.string());
  }
  spdlog::info("loaded text encoder ({:.0f} M parameters on {}) in {:.1f} s",
               text_encoder_->parameter_count() / 1e6, text_encoder_->device().str(),
               seconds_since(start));
}

std::vector<at::Tensor> ModelRuntime::encode_text(const std::vector<std::string>& prompts,
                                                  const CancellationToken& cancel) {
  std::lock_guard<std::mutex> lock(text_mutex_);
  std::vector<std::string> missing;
  for (const std::string& p : prompts) {
    if (!text_cache_.count(p) &&
        std::find(missing.begin(), missing.end(), p) == missing.end()) {
      missing.push_back(p);
    }
  }
  if (!missing.empty()) {
    if (!text_encoder_) load_text_encoder();
    for (const std::string& prompt : missing) {  // one at a time: bounded activation memory
      cancel.throw_if_cancelled("text encoding");
      const models::TokenBatch batch = tokenizer_->encode({prompt});
      const at::Device te_device = text_encoder_->device();
      std::vector<at::Tensor> out = text_encoder_->encode(batch.ids.to(te_device),
                                                          batch.mask.to(te_device), cancel);
      text_cache_[prompt] = out.front().to(dit_.device(), at::kFloat).contiguous();
    }
  }
  std::vector<at::Tensor> contexts;
  contexts.reserve(prompts.size());
  for (const std::string& p : prompts) contexts.push_back(text_cache_.at(p));
  return contexts;
}

void ModelRuntime::cache_text(const std::string& prompt, const at::Tensor& context) {
  std::lock_guard<std::mutex> lock(text_mutex_);
  text_cache_[prompt] = context.to(dit_.device(), at::kFloat).contiguous();
}

void ModelRuntime::release_text_encoder() {
  std::lock_guard<std::mutex> lock(text_mutex_);
  if (text_encoder_) spdlog::debug("releasing the text encoder");
  text_encoder_.reset();
}

bool ModelRuntime::text_encoder_loaded() const {
  std::lock_guard<std::mutex> lock(text_mutex_);
  return text_encoder_.has_value();
}

models::WanVAEDecodeOptions ModelRuntime::vae_options(const CancellationToken* cancel) const {
  models::WanVAEDecodeOptions options;
  options.cancel = cancel;
  if (memory_ == MemoryMode::Low) options.tiling.tile_latent = kLowMemoryTileLatent;
  return options;
}

}  // namespace reelforge::pipeline
