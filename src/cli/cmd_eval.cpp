// `reelforge eval`: generates the held-out world's prompts with a model and prints how often each
// attribute came out as prompted (training/evaluation.hpp).

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/training/evaluation.hpp"

namespace reelforge::cli {
namespace fs = std::filesystem;

const char* const kEvalUsage = R"(Usage: reelforge eval MODEL [options]

Measures a model on the procedural world's held-out attribute combinations (never seen in
training): it generates clips from canonical captions ("a small red circle moving left on a blue
sky") at the model's native sizes, reads each clip back with the world's scorer and
prints, per attribute, how often it came out as prompted and what the wrong ones were read as
("star -> square 11"). Models that condition on images are also given the world's first frame
(image-to-video). The exit code is 0 whatever the scores.

  MODEL                an installed model name or a model folder
  --clips N            text-to-video clips (default 48)
  --i2v-clips N        image-to-video clips (default 16; 0 = none)
  --seed N             seed of the prompts and the noise (default 2026)
  --split S            heldout (default; the goals are about these) or train: combinations seen
                       in training, which tells "cannot draw it" from "cannot combine it"
  --world-mix LIST     with --split train: the training world the prompts come from, as
                       `reelforge train --world-mix` takes it (a curriculum's rung)
  --steps N            sampling steps (default: the model's)
  --guidance G         guidance scale (default: the model's)
  --json FILE          also write the report, every clip included, as JSON
  --save-clips DIR     write each generated clip as an mp4 named after its prompt
  --vae-round-trip     score the world's own renders of the same prompts after the model's VAE
                       (encode, decode) instead of generating: the ceiling the VAE sets on
                       every figure; no sampling, so it takes seconds)
  --from-render S      video-to-video from the world's own render of each prompt, noised to
                       strength S (0 keeps the render, 1 is almost text-to-video): how much
                       noise the model can take before it loses what it was given)";

namespace {

// "a small red star moving left" -> "a-small-red-star-moving-left", for file names.
std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 120) out.resize(120);
  return out;
}

void save_clip(const fs::path& dir, const models::ModelManifest& manifest,
               const training::EvalClip& clip, const std::vector<cv::Mat>& frames) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%s-%03d-", training::to_string(clip.mode), clip.index + 1);
  const fs::path path = dir / (prefix + slug(clip.prompt) + ".mp4");
  media::VideoWriterOptions options;
  options.size = {clip.width_px, clip.height_px};
  options.fps = media::FrameRate::from_double(manifest.fps);
  options.preset = "fast";
  options.metadata.title = clip.prompt;
  media::VideoWriter writer(path, options);
  for (const cv::Mat& frame : frames) writer.write(frame);
  writer.finish();
}

}  // namespace

int run_eval(Args& args) {
  training::EvalOptions options;
  if (auto n = args.integer("--clips", 0, 100000)) options.clips = static_cast<int>(*n);
  if (auto n = args.integer("--i2v-clips", 0, 100000)) options.i2v_clips = static_cast<int>(*n);
  if (auto n = args.integer("--seed", 0, std::numeric_limits<long long>::max())) {
    options.seed = static_cast<uint64_t>(*n);
  }
  if (auto n = args.integer("--steps", 1, 1000)) options.steps = static_cast<int>(*n);
  if (auto g = args.number("--guidance", 0, 100)) options.guidance = *g;
  if (auto s = args.option("--split")) {
    options.split = named("--split", [&] { return dataset::parse_split(*s); });
  }
  if (auto m = args.option("--world-mix")) {
    options.mix = named("--world-mix", [&] { return dataset::parse_world_mix(*m); });
  }
  options.vae_round_trip = args.flag("--vae-round-trip");
  options.source_strength = args.number("--from-render", 0, 1);
  const auto json_path = args.option("--json");
  const auto clips_dir = args.option("--save-clips");
  const std::string model = args.positional("MODEL");
  args.finish();

  const models::ModelManifest manifest = models::find_model(model);
  const auto runtime = pipeline::ModelRuntime::load(manifest, {}, interrupt_token());
  if (options.i2v_clips > 0 && !runtime->conditions_on_images()) {
    std::fprintf(stderr, "%s does not condition on images: image-to-video clips skipped\n",
                 manifest.name.c_str());
  }
  training::EvalClipCallback on_clip;
  if (clips_dir) {
    fs::create_directories(*clips_dir);
    on_clip = [&](const training::EvalClip& clip, const std::vector<cv::Mat>& frames) {
      save_clip(*clips_dir, manifest, clip, frames);
    };
  }
  training::EvalReport report;
  {
    ProgressPrinter printer;
    report = training::evaluate_model(*runtime, options, printer.callback(), &interrupt_token(),
                                      on_clip);
  }
  std::printf("%s", training::format_report(report).c_str());
  if (json_path) {
    write_file_atomic(*json_path, training::to_json(report).dump(2) + "\n");
    std::printf("wrote %s\n", json_path->c_str());
  }
  if (clips_dir) std::printf("clips in %s\n", clips_dir->c_str());
  return 0;
}

}  // namespace reelforge::cli
