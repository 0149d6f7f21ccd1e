#pragma once
// The trainer of ReelForge's built-in model (issue 7): a small Wan-style model learnt from scratch
// on the procedural world of dataset/, in a run folder that can be stopped and resumed at any
// point. Stages:
//   1. vae — a Wan 2.1 VAE learns to reconstruct clips of the world (contrast-weighted L1 + MSE);
//   2. dit — with the VAE frozen, the DiT and a umT5-style text encoder learn jointly by flow
//      matching: x_t = (1 - s) x0 + s noise with s drawn uniformly and shifted as the sampler
//      shifts it, the network predicting the velocity noise - x0 (or the clean latent x0, turned
//      into that velocity: TrainConfig::dit.prediction). Random first-frame (and
//      last-frame) conditioning with clean tokens at t = 0 teaches image-to-video the way Wan 2.2
//      TI2V does it; empty-text dropout makes classifier-free guidance work;
//   3. decoder (optional) — the VAE's decoder trained further on the frozen encoder's latents,
//      which leaves the DiT's latent space untouched.
// Export writes a normal model folder (models::save_model) from the EMA weights.
//
// The run folder: config.json (the TrainConfig; a resumed run must match it), spiece.model,
// vae_state.safetensors / dit_state.safetensors / decoder_state.safetensors (AdamW state with
// weights, moments and EMA; the decoder's holds only the decoder's weights),
// vae_stats.json (the latent normalisation measured after the VAE stage), loss.tsv (stage, step,
// loss, grad norm, seconds).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/dataset/world.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/umt5.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/models/wan_vae.hpp"
#include "reelforge/training/optimizer.hpp"

namespace reelforge::training {

enum class TrainStage { VAE, DiT, Decoder };
const char* to_string(TrainStage stage);  // "vae", "dit", "decoder"
TrainStage parse_train_stage(const std::string& name);

struct TrainConfig {
  uint64_t seed = 1;
  ComputeDType dtype = ComputeDType::BFloat16;  // matmul / conv dtype; master weights float32

  // The world: native size per aspect bucket, frames per clip (1 + 4k), fps.
  std::map<std::string, models::NativeSize> buckets;
  int frame_count = 17;
  double fps = 16;

  // Tokenizer and networks.
  int vocab = 512;
  int tokenizer_corpus_captions = 20000;
  models::WanVAEConfig vae;
  models::UMT5Config text;   // vocab filled from the tokenizer
  models::WanDiTConfig dit;  // in_dim / out_dim = vae.z_dim, text_dim = text.dim

  // Stage 1.
  int64_t vae_steps = 1000;
  int vae_batch = 4;
  int vae_frames = 5;  // 1 + 4k frames per training clip (a random window of the rendered clip)
  // Curriculum: from this step on, whole clips (frame_count frames, so every causal chunk of a
  // window is trained) in batches of vae_long_batch. -1 = never.
  int64_t vae_long_from_step = -1;
  int vae_long_batch = 2;
  // The decoder sees mu itself (no sampling: with so few steps the sampling noise only blurs),
  // with a small L2 penalty on mu to keep the latent scale bounded.
  double vae_latent_penalty = 1e-5;
  // Reconstruction weight 1 + this x the local contrast of the target (|x - its 7x7 mean|):
  // the objects are a small part of each frame and would otherwise be drawn last.
  double vae_edge_weight = 10.0;
  AdamWSettings vae_optimizer;

  // Stage 2.
  int64_t dit_steps = 20000;
  int dit_batch = 24;
  double shift = 3.0;              // the sampler's shift, shipped in model.json
  double text_dropout = 0.1;       // probability of training on the empty prompt
  double first_frame_prob = 0.25;  // condition on the first latent frame (i2v)
  double first_two_prob = 0.1;     // condition on the first two (window continuation)
  double last_frame_prob = 0.05;   // condition on the last latent frame (last-frame keyframes)
  // The flow-matching loss on latent pixels the objects cover (their coverage pooled onto the
  // latent grid and grown by one latent pixel) is weighted 1 + this: the objects are a small part
  // of each frame, and their shape and motion would otherwise be learnt long after the
  // backgrounds. 0 = every latent pixel alike.
  double object_loss_weight = 0.0;
  // Each sample's loss also counts sigma^this over the batch's mean (flow_matching_loss): 2 weights
  // the clean latent's error evenly across noise levels, where the plain velocity loss (0) gives
  // the high-noise steps, which lay out the objects and their motion, the least of it.
  double sigma_loss_power = 0.0;
  // How each sample's noise level is drawn before the shift (draw_sigma): 0 = uniform, > 0 = a
  // logit-normal of this spread, which samples the middle of the schedule more often.
  double sigma_logit_spread = 0.0;
  // How often each shape, colour, size, motion and background appears in the training clips, and
  // how often a second object (dataset::sample_clip); the default is the world's own mix. It may
  // change between pieces of a run (a curriculum); the held-out combinations stay out either way.
  dataset::WorldMix world_mix;
  // A training-only head reads the DiT's residual stream after silhouette_block blocks (0 = half
  // of them) and predicts the objects' silhouette: their coverage of each 2x2-pixel cell, averaged
  // over the pixel frames of each latent frame. Its squared error on the generated tokens, times
  // this weight, joins the loss. A silhouette is the same for a red star on blue as for a white
  // one on gray, so the head asks the blocks for the outline apart from colour and background.
  // 0 = no head. The head is not exported: the shipped DiT is unchanged in shape.
  double silhouette_loss_weight = 0.0;
  int silhouette_block = 0;
  int pool_clips = 1536;           // encoded clips kept per run, split over the buckets
  int pool_refresh = 1;            // new clips encoded per step
  AdamWSettings dit_optimizer;

  // Stage 3 (optional, 0 steps = none): the VAE's decoder (and its latent-side conv2) trained on,
  // with the encoder frozen. The latent space the DiT learnt stays exactly as it is, so a
  // sharper decoder improves every clip of an already-trained DiT. Whole clips, batches of
  // vae_long_batch, the stage 1 reconstruction loss.
  int64_t decoder_steps = 0;
  AdamWSettings decoder_optimizer;

  int64_t checkpoint_every = 250;  // steps between checkpoints (and always at the end)

  // The built-in model's recipe (docs/builtin-model.md) and a toy one for tests (seconds).
  static TrainConfig builtin();
  static TrainConfig smoke();

  // Sets the DiT's width, keeping the recipe's head size (dim / num_heads) and its feed-forward
  // ratio; Error(InvalidArgument) unless `width` is a positive multiple of the head size.
  void set_dit_width(int64_t width);

  int64_t steps_target(TrainStage stage) const;  // vae_steps, dit_steps or decoder_steps

  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& json);  // Error(Validation) naming the field
  // Error(InvalidArgument) for settings that cannot train (sizes the VAE and patch cannot take,
  // a frame count that is not 1 + 4k, mismatched network dims).
  void validate() const;
};

// What a new run takes from a model folder (Trainer::create_from_model).
enum class ModelImport {
  Everything,       // tokenizer, VAE, DiT and text encoder: to train the model further
  TokenizerAndVAE,  // the DiT and text encoder start from zero (e.g. of another width)
};

struct TrainProgress {
  TrainStage stage = TrainStage::VAE;
  std::string phase;  // "train", "pool" (encoding the first clips), "stats"
  int64_t step = 0;   // steps done in this stage (including earlier pieces)
  int64_t total = 0;  // the stage's step target
  double loss = 0;    // EMA-smoothed training loss
  double grad_norm = 0;
  double seconds_per_step = 0;
  double eta_s = 0;  // to the stage's target at the current rate
};
using TrainProgressCallback = std::function<void(const TrainProgress&)>;

struct TrainLimits {
  int64_t max_steps = -1;   // steps in this call (-1: until the stage's target)
  double max_seconds = -1;  // wall time for this call (-1: none); checkpoints before leaving
  const CancellationToken* cancel = nullptr;  // cancellation checkpoints too, then Error(Cancelled)
};

// A run folder. Creating one with a config writes config.json and trains the tokenizer; opening
// an existing one reads its config (a different config given is Error(InvalidArgument) naming the
// first differing field, so a resume never silently changes the recipe).
class Trainer {
 public:
  static Trainer create_or_resume(const std::filesystem::path& run_dir, const TrainConfig& config);
  static Trainer resume(const std::filesystem::path& run_dir);
  // Starts a new run from the weights of a model folder whose networks have the config's
  // architecture (one this trainer exported, to train it further): its tokenizer, its VAE as a
  // finished stage 1 with the model's latent normalisation, and its DiT and text encoder as the
  // starting point of stage 2, which trains from step 0 with fresh optimiser moments. A DiT with
  // a coarser patch than the config's (1x4x4 into 1x2x2) is mapped onto the finer one as if the
  // picture were magnified: its patch embedding summed, its head averaged over each block. A
  // deeper DiT than the model's (more blocks) gets the model's blocks spread evenly through it and
  // identity blocks between them (output projections at zero), so it starts as the model.
  // With ModelImport::TokenizerAndVAE only the tokenizer and the VAE (and its normalisation) are
  // the model's, and stage 2 starts from the seed's fresh DiT and text encoder.
  // Error(InvalidArgument) if `run_dir` already holds a run; Error(Format) naming the first
  // weight the model lacks, has in another shape, or has beyond the config's networks.
  static Trainer create_from_model(const std::filesystem::path& run_dir, const TrainConfig& config,
                                   const std::filesystem::path& model_dir,
                                   ModelImport import = ModelImport::Everything);

  const TrainConfig& config() const { return config_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }
  int64_t steps_done(TrainStage stage) const;  // from the stage's checkpoint (0 without one)

  // Trains the stage from its checkpoint towards its target, within `limits`. The DiT and decoder
  // stages need a finished VAE stage (Error(InvalidArgument) otherwise); the decoder stage starts
  // from the VAE's EMA decoder. Returns the steps done now.
  int64_t train(TrainStage stage, const TrainLimits& limits = {},
                const TrainProgressCallback& progress = {});

  // Writes a model folder from the EMA weights (weights stored as bf16). `manifest` supplies
  // name, display name, license; sizes, fps, frames, tasks and sampling defaults come from the
  // config. Needs the VAE and DiT stages to have checkpoints; the decoder stage's EMA weights, when
  // it has a checkpoint, replace the VAE's decoder.
  models::ModelManifest export_model(const std::filesystem::path& dir,
                                     const models::ModelManifest& identity) const;

 private:
  Trainer(std::filesystem::path run_dir, TrainConfig config);
  std::filesystem::path run_dir_;
  TrainConfig config_;
};

}  // namespace reelforge::training
