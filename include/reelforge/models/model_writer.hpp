#pragma once
// Writing model folders in the layout the registry and the loaders read: `model.json` beside
// `dit.safetensors` (official Wan DiT names), `umt5.safetensors` (Wan's umT5 names),
// `vae.safetensors` (official Wan VAE names) and the tokenizer's `spiece.model`.
//
// save_model() writes networks that are already in memory (a trained model, a converted one);
// write_random_model() makes a complete tiny model with random weights and a freshly trained
// SentencePiece tokenizer, so tests and benchmarks can run the whole pipeline on real files in
// the real layouts without shipping weights.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "reelforge/models/manifest.hpp"
#include "reelforge/models/umt5.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/models/wan_vae.hpp"

namespace reelforge::models {

// File names inside a folder written here.
inline constexpr char kDiTWeightsFile[] = "dit.safetensors";
inline constexpr char kTextEncoderWeightsFile[] = "umt5.safetensors";
inline constexpr char kVAEWeightsFile[] = "vae.safetensors";
inline constexpr char kTokenizerFile[] = "spiece.model";

// How weights are stored on disk (the loaders convert to their compute dtype either way).
enum class WeightDType { Float32, BFloat16 };
const char* to_string(WeightDType dtype);  // "float32", "bf16"

// The parts of one model as they are in memory. The networks share their weights with the
// caller's objects (copies are cheap); the tokenizer is a SentencePiece model file that is copied
// into the folder.
struct ModelComponents {
  WanDiT dit;
  UMT5Encoder text_encoder;
  WanVAE vae;
  std::filesystem::path tokenizer_model;  // a SentencePiece `spiece.model`
};

struct SaveModelOptions {
  WeightDType weight_dtype = WeightDType::Float32;
};

// Writes `components` into `dir` (created if needed) and returns the manifest as written.
// `manifest` gives what the networks cannot tell: name, display name, variant, license, tasks,
// fps, frame_count, native_sizes, defaults, text_encoder.text_len and vae.latent_mean / latent_std.
// The rest comes from the components: the file names, dit.model_type and dit.num_heads (from the
// DiT config) and vae.version. Everything is checked before anything is written:
// Error(InvalidArgument) when the parts do not fit together (DiT text_dim vs. encoder dim, DiT
// in/out dim vs. VAE z_dim, text_len vs. the DiT's, a tokenizer with more pieces than the
// encoder's vocabulary, native sizes or a frame count the VAE and patch size cannot take),
// Error(Validation) when the manifest breaks a rule of model.json.
// Every file is written atomically, and model.json last: an older model.json in `dir` is removed
// first, so the folder is never a model whose manifest names half-written weights.
ModelManifest save_model(const std::filesystem::path& dir, const ModelManifest& manifest,
                         const ModelComponents& components, const SaveModelOptions& options = {});

// Trains a SentencePiece unigram tokenizer with umT5's conventions (pad 0, </s> 1, unk 2, no
// <s>) on `corpus` (one sentence per line) and writes it atomically to `out_model`, without the
// scratch paths the trainer records, so the same corpus always gives the same bytes.
// Error(InvalidArgument) with the trainer's message when it cannot reach a usable vocabulary.
void train_t5_tokenizer(const std::string& corpus, int vocab, const std::filesystem::path& out_model);

// Everything write_random_model() needs. Default-constructed it is tiny(WanModelType::T2V).
//
// The tiny model keeps every structural rule of the real ones at toy widths: the Wan 2.1 VAE's
// 4x8x8 compression (dim 8, z 16, dim_mult 1-2-4-4, 2 res blocks, temporal downsampling in the
// last two stages), the DiT's 1x2x2 patches (dim 64, 2 layers, 2 heads of 32, ffn 128,
// freq_dim 32, text_len 64), and a umT5 encoder (dim 32, 2 heads, ffn 64, 2 layers) whose
// vocabulary is the trained tokenizer's. Native sizes are multiples of 16 (VAE stride 8 x patch
// 2): wide 80x48, vertical 48x80 (latent 10x6 / 6x10, 5x3 tokens per latent frame) and square
// 64x64 (8x8, 4x4 tokens); 17 frames (5 latent frames) at 16 fps.
struct RandomModelSpec {
  RandomModelSpec();

  // T2V: Wan 2.1-style DiT, tasks t2v and v2v. TI2V: the same DiT called with Wan 2.2's
  // per-token timesteps (first latent frame clean), tasks t2v, i2v and v2v; it keeps the 2.1
  // VAE (the DiT's in_dim only has to match the VAE's z_dim).
  static RandomModelSpec tiny(WanModelType type = WanModelType::T2V);

  std::string name = "tiny-random";  // the id find_model() knows it by
  std::string display_name = "Tiny random-weights model (tests and benchmarks)";
  std::string variant = "tiny-random-t2v";
  // dit.text_len is the manifest's text_encoder.text_len (tokens per prompt).
  WanDiTConfig dit;
  // text.vocab 0 = the trained tokenizer's piece count.
  UMT5Config text;
  WanVAEConfig vae;
  // Latent normalisation written to the manifest; empty = the published values of the VAE
  // version when z_dim matches them, else mean 0 / std 1.
  std::vector<double> latent_mean;
  std::vector<double> latent_std;
  int tokenizer_vocab = 256;  // requested SentencePiece size (the trainer may stop below it)
  std::vector<Task> tasks;
  double fps = 16;
  int frame_count = 17;
  std::map<std::string, NativeSize> native_sizes;  // "wide", "vertical", "square"
  SamplingDefaults defaults;                       // tiny(): 4 steps, shift 5, guidance 5, unipc
  uint64_t seed = 0;                               // same seed, byte-identical files
  WeightDType weight_dtype = WeightDType::Float32;
};

// Creates `dir` and writes a complete model with random weights for `spec` through save_model():
// a unigram SentencePiece tokenizer (T5 ids: pad 0, </s> 1, unk 2, no bos) trained on a built-in
// English corpus of a few hundred prompts about shapes, colours, motion and scenes, and random
// DiT, umT5 and VAE weights scaled so that a forward pass of each stays finite and of order 1.
// Deterministic: the same spec gives byte-identical files. Errors as save_model(), plus
// Error(InvalidArgument) for a config a network rejects.
ModelManifest write_random_model(const std::filesystem::path& dir,
                                 const RandomModelSpec& spec = {});

}  // namespace reelforge::models
