#include "reelforge/pipeline/generate_benchmark.hpp"

#include <unistd.h>

#include <chrono>

#include "reelforge/core/error.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/registry.hpp"

namespace reelforge::pipeline {
namespace fs = std::filesystem;

namespace {

// A scratch folder removed with everything in it when the run ends, however it ends.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("reelforge-bench-generate-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

GenerateBenchmarkResult run_generate_benchmark(const GenerateBenchmarkOptions& options,
                                               const RenderProgressCallback& progress,
                                               const CancellationToken& cancel) {
  const auto start = std::chrono::steady_clock::now();
  ScratchDir scratch;
  models::ModelManifest manifest;
  if (options.model.empty()) {
    models::RandomModelSpec spec = models::RandomModelSpec::tiny(models::WanModelType::TI2V);
    manifest = models::write_random_model(scratch.path() / "tiny-random", spec);
  } else {
    manifest = models::find_model(options.model);
  }

  RenderRequest request;
  storyboard::Shot shot;
  shot.id = "bench";
  shot.prompt = "a small red ball rolls to the left across a blue sky";
  shot.duration_s = options.duration_s;
  request.storyboard.title = "bench generate";
  request.storyboard.project.aspect = options.aspect;
  request.storyboard.project.resolution = options.resolution;
  request.storyboard.project.fps = options.fps;
  request.storyboard.project.quality = storyboard::QualityPreset::Final;
  request.storyboard.project.model = manifest.name;
  request.storyboard.project.seed = 1;
  request.storyboard.shots.push_back(shot);
  request.base_dir = scratch.path();
  request.output = scratch.path() / "bench.mp4";
  request.model_dir = manifest.dir;
  request.runtime = options.runtime;
  request.options.sampling.steps = options.steps;
  request.options.encoder_preset = options.encoder_preset;

  GenerateBenchmarkResult result;
  result.model = options.model.empty() ? "tiny random (TI2V, written for the run)" : manifest.name;
  result.plan = plan_render(request.storyboard, request.base_dir, manifest, request.options);
  result.render = RenderJob(std::move(request)).run(progress, cancel);
  result.total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace reelforge::pipeline
