// `reelforge bench train`: thin front end over training::Trainer on a scratch run folder.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "bench_train.hpp"
#include "commands.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/training/trainer.hpp"

namespace reelforge::cli {

const char* const kBenchTrainUsage = R"(Usage: reelforge bench train [options]

Seconds per training step of the built-in model's recipe (docs/builtin-model.md) through the real
trainer, in a scratch run folder: the VAE stage on 5-frame windows and on whole clips, and the DiT
stage (DiT + text encoder), each in bf16 and in float32, with the DiT's GFLOP/s.
  --steps N     steps timed per phase (default 6; the first of each is not counted)
  --dtype D     (global option) only this dtype: bf16 or float32 (default both))";

namespace {

namespace fs = std::filesystem;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct PhaseTimes {
  std::vector<double> vae_windows, vae_whole, dit;
};

PhaseTimes time_recipe(ComputeDType dtype, int steps, const fs::path& dir) {
  training::TrainConfig c = training::TrainConfig::builtin();
  c.dtype = dtype;
  c.tokenizer_corpus_captions = 2000;
  c.vae_long_from_step = steps;
  c.vae_steps = 2 * steps;
  c.dit_steps = steps;
  c.pool_clips = int(c.buckets.size()) * c.dit_batch / 2;  // the smallest pool the recipe allows
  c.checkpoint_every = 1000000;
  training::Trainer trainer = training::Trainer::create_or_resume(dir, c);
  PhaseTimes times;
  BenchClock::time_point last{};
  int64_t last_step = -1;
  const auto record = [&](const training::TrainProgress& p) {
    const auto now = BenchClock::now();
    if (p.phase != "train") {
      last_step = -1;
      return;
    }
    // The first step of each phase pays for first-touch allocations: not counted.
    const bool first_of_phase =
        last_step < 0 || (p.stage == training::TrainStage::VAE && p.step == steps + 1);
    if (!first_of_phase) {
      const double s = std::chrono::duration<double>(now - last).count();
      if (p.stage == training::TrainStage::DiT) {
        times.dit.push_back(s);
      } else {
        (p.step <= steps ? times.vae_windows : times.vae_whole).push_back(s);
      }
    }
    last = now;
    last_step = p.step;
  };
  trainer.train(training::TrainStage::VAE, {}, record);
  last_step = -1;
  trainer.train(training::TrainStage::DiT, {}, record);
  return times;
}

}  // namespace

int run_bench_train(Args& args) {
  const int steps = int(args.integer("--steps", 2, 1000).value_or(6));
  args.finish();
  std::vector<ComputeDType> dtypes = {ComputeDType::BFloat16, ComputeDType::Float32};
  if (requested_compute_dtype() != ComputeDType::Auto) dtypes = {compute_info().dtype};

  const training::TrainConfig recipe = training::TrainConfig::builtin();
  const auto& square = recipe.buckets.at("square");
  const int64_t tokens = (recipe.frame_count - 1) / recipe.vae.temporal_stride() + 1;
  const int64_t per_frame =
      (square.width_px / recipe.vae.spatial_stride() / recipe.dit.patch_size[1]) *
      (square.height_px / recipe.vae.spatial_stride() / recipe.dit.patch_size[2]);
  // Forward + backward ~ 3x the forward's FLOPs; the square bucket stands for the three.
  const double dit_flops =
      3.0 * models::wan_dit_forward_flops(recipe.dit, tokens * per_frame, recipe.dit_batch);

  std::map<ComputeDType, PhaseTimes> results;
  for (const ComputeDType dtype : dtypes) {
    const fs::path dir =
        fs::temp_directory_path() /
        ("reelforge-bench-train-" + std::to_string(::getpid()) + "-" + to_string(dtype));
    fs::remove_all(dir);
    try {
      results[dtype] = time_recipe(dtype, steps, dir);
    } catch (...) {
      fs::remove_all(dir);
      throw;
    }
    fs::remove_all(dir);
    const PhaseTimes& t = results[dtype];
    std::printf(
        "%s: VAE 5-frame windows x%d: %.2f s/step; VAE whole clips x%d: %.2f s/step; "
        "DiT+text batch %d: %.2f s/step (%.0f GFLOP/s in the DiT)\n",
        to_string(dtype), recipe.vae_batch, median(t.vae_windows), recipe.vae_long_batch,
        median(t.vae_whole), recipe.dit_batch, median(t.dit),
        dit_flops / 1e9 / std::max(1e-9, median(t.dit)));
    std::fflush(stdout);
  }
  if (results.size() == 2) {
    const PhaseTimes& b = results.at(ComputeDType::BFloat16);
    const PhaseTimes& f = results.at(ComputeDType::Float32);
    std::printf("float32 / bf16 step time: VAE windows %.2fx, VAE whole clips %.2fx, DiT %.2fx\n",
                median(f.vae_windows) / std::max(1e-9, median(b.vae_windows)),
                median(f.vae_whole) / std::max(1e-9, median(b.vae_whole)),
                median(f.dit) / std::max(1e-9, median(b.dit)));
  }
  return 0;
}

}  // namespace reelforge::cli
