#pragma once
// AdamW with decoupled weight decay, global gradient-norm clipping and an exponential moving
// average (EMA) of the weights, over NamedWeights, with its whole state (weights, moments, EMA,
// step) saved to and restored from one safetensors file, so a run resumes exactly where it stopped.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "reelforge/training/weights.hpp"

namespace reelforge::training {

struct AdamWSettings {
  double learning_rate = 3e-4;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.01;  // on matrices only (not biases, norms, modulations)
  double grad_clip = 1.0;      // max global L2 norm of the gradients; 0 = no clipping
  double ema_decay = 0.999;    // 0 = no EMA
  int64_t warmup_steps = 200;  // linear learning-rate warm-up
  // After the warm-up the rate follows a cosine from the base rate down to this fraction of it at
  // the stage's step target (see scheduled_lr_scale); 1 = constant.
  double final_lr_fraction = 1.0;
};

// The `lr_scale` for AdamW::step() at optimizer step `step` (0-based, before the update) of a
// stage that ends at `total_steps`: 1 through the warm-up, then the cosine down to
// final_lr_fraction, which it keeps past the target.
double scheduled_lr_scale(const AdamWSettings& settings, int64_t step, int64_t total_steps);

// Owns the master weights it updates (float32 leaves that require grad).
class AdamW {
 public:
  AdamW(NamedWeights weights, const AdamWSettings& settings);

  NamedWeights& weights() { return weights_; }
  const NamedWeights& weights() const { return weights_; }
  // The EMA weights (the ones to ship); the weights themselves when the EMA is off.
  const NamedWeights& ema() const { return ema_.empty() ? weights_ : ema_; }
  int64_t step_count() const { return step_; }
  // Sets the step count without training: for weights trained elsewhere (a stage imported from a
  // model folder), so the stage reads as trained that far.
  void set_step_count(int64_t steps) { step_ = steps; }
  const AdamWSettings& settings() const { return settings_; }

  // After loss.backward(): clips, applies one update with the scheduled learning rate (warm-up,
  // then `lr_scale` x the base rate), updates the EMA and clears the gradients. Returns the
  // gradient norm before clipping (inf / nan are reported, and the update is skipped).
  double step(double lr_scale = 1.0);

  // Everything needed to resume, plus `metadata` (e.g. the run's config), atomically.
  void save(const std::filesystem::path& path,
            const std::map<std::string, std::string>& metadata = {}) const;
  // Restores a save() of the same weights (names and shapes must match: Error(Format) naming the
  // first that does not). Returns the saved metadata.
  std::map<std::string, std::string> load(const std::filesystem::path& path);

 private:
  NamedWeights weights_;
  NamedWeights m_, v_, ema_;
  AdamWSettings settings_;
  int64_t step_ = 0;
};

}  // namespace reelforge::training
