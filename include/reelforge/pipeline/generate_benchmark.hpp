#pragma once
// `reelforge bench generate`: one clip rendered end to end through RenderJob, timed per stage
// (model load, text, sampling, decode, interpolation, upscale, encode). Without a model it writes
// a tiny random-weights model (models::write_random_model) to a temporary folder, so the figures
// show the cost of everything around the DiT; with an installed model they show the real thing.

#include <filesystem>
#include <map>
#include <string>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/pipeline/render_job.hpp"

namespace reelforge::pipeline {

struct GenerateBenchmarkOptions {
  std::string model;  // installed model name or folder; empty = a tiny random model
  double duration_s = 5;
  media::Aspect aspect = media::Aspect::Wide;
  media::Resolution resolution = media::Resolution::P1080;
  double fps = 24;
  std::optional<int> steps;  // nullopt = the model's default
  std::string encoder_preset = "medium";
  RuntimeOptions runtime;
};

struct GenerateBenchmarkResult {
  std::string model;
  RenderPlan plan;
  RenderResult render;
  double total_s = 0;  // wall time of the whole run, model load included
};

// Renders into a temporary folder (removed afterwards) and returns the figures.
GenerateBenchmarkResult run_generate_benchmark(const GenerateBenchmarkOptions& options,
                                               const RenderProgressCallback& progress = {},
                                               const CancellationToken& cancel = {});

}  // namespace reelforge::pipeline
