// `reelforge generate` and `reelforge render`: argument parsing and presentation over
// pipeline::RenderJob. `generate` builds a one-shot storyboard from its arguments, so both
// commands render through the same path.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <filesystem>
#include <random>
#include <string>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/pipeline/render_job.hpp"
#include "reelforge/storyboard/io.hpp"

namespace reelforge::cli {
namespace fs = std::filesystem;

const char* const kGenerateUsage = R"(Usage: reelforge generate "PROMPT" -o OUT.mp4 [options]

Generates one clip from a prompt (text-to-video), optionally starting from or ending on a still
(image-to-video) or re-imagining a clip (video-to-video).

  -o, --output OUT       the clip to write (appears only when complete)
  --negative TEXT        what to avoid (default: the model's default negative prompt)
  --image IMG            a keyframe: the clip starts from this still (needs an i2v model)
  --image-at first|last  where the keyframe goes (default first)
  --video CLIP           video-to-video from this clip
  --strength S           how far to depart from --video: 0 keeps it, 1 ignores it (default 0.6)
  --aspect A             16:9 (wide, default), 9:16 (vertical) or 1:1 (square)
  --resolution R         480p, 720p or 1080p (default 1080p)
  --duration S           seconds, up to 20 (default 5)
  --fps N                output frame rate, 8 to 60 (default 24)
  --draft                quick draft: the model's native size and half its steps
  --title TEXT           the clip's title (metadata)
)"
                                         R"(
Model and sampling (defaults from the model's model.json):
  --model NAME           an installed model or a model folder (default: the default model)
  --steps N              sampling steps
  --guidance G           classifier-free guidance scale (1 = none, one model pass per step)
  --shift S              timestep shift
  --solver S             unipc, dpm++ or euler
  --seed N               the seed (default: random, printed)
  --memory M             auto, normal or low (text encoder on the CPU and released; tiled VAE)
)"
                                         R"(
Output:
  --overlap N            frames shared by consecutive windows of a long shot, 1 + 4k (default 5)
  --interpolation M      frame-rate conversion: flow (motion-compensated, default), blend, nearest
  --sharpen A            unsharp-mask amount after upscaling, 0 = none (default 0.35)
  --crf N                quality, 0 to 51 (default 20)
  --preset P             x264 speed preset, ultrafast .. veryslow (default medium)
  --keep-job             keep the job folder (prompts and sampled latents) after success

Safety (docs/safety.md):
  --moderation-policy F  check every prompt against this policy file (default: the shipped
                         assets/safety/policy.json); a blocked prompt stops before anything runs
  --visible-watermark    add a semi-transparent "AI · ReelForge" badge in a corner
Every clip carries an invisible watermark and gets a signed OUT.mp4.provenance.json beside it;
check both with `reelforge verify OUT.mp4`.

Ctrl-C stops cleanly: no output file; what was sampled stays in the job folder
(.OUT.mp4.job beside the output) for `reelforge render --resume`.)";

const char* const kRenderUsage =
    R"(Usage: reelforge render STORYBOARD.json [-o OUT.mp4] [options]
       reelforge render --resume JOB_DIR [--partial]

Renders a storyboard (docs/storyboard-format.md) with its project's model, aspect, resolution,
fps and seed into one clip. Each shot is sampled in windows of the model's native length; the
sampled latents are saved in a job folder before decoding, so an interrupted or failed render
resumes without sampling again.

  -o, --output OUT       the clip to write (default: the storyboard's name with .mp4, beside it)
  --resume JOB_DIR       continue a stopped render from its job folder
  --partial              with --resume: sample nothing, deliver the shots already sampled
  --model NAME           render with this model instead of the project's
  --draft / --final      override the project's quality preset
  --steps, --guidance, --shift, --solver, --memory, --overlap, --interpolation, --sharpen,
  --crf, --preset, --keep-job, --moderation-policy, --visible-watermark
                         as for `reelforge generate`

Ctrl-C stops cleanly: no output file, the job folder is kept.)";

namespace {

// Shows RenderProgress: a redrawn line with the overall bar, stage, shot and ETA on a terminal;
// a line per stage change or 10% of the job otherwise.
class RenderProgressPrinter {
 public:
  RenderProgressPrinter() : tty_(::isatty(STDERR_FILENO) == 1) {}
  ~RenderProgressPrinter() {
    if (tty_ && drawn_) std::fputc('\n', stderr);
  }

  void operator()(const pipeline::RenderProgress& p) {
    if (!p.preview.empty() && p.step == 0) return;  // preview-only events add no text
    const int percent = static_cast<int>(100 * p.fraction);
    std::string where;
    if (p.shot >= 0) {
      where = "shot " + std::to_string(p.shot + 1) + "/" + std::to_string(p.shot_count);
      if (p.window >= 0 && p.window_count > 1) {
        where += " window " + std::to_string(p.window + 1) + "/" + std::to_string(p.window_count);
      }
    }
    const std::string step =
        p.total > 0 ? std::to_string(p.step) + "/" + std::to_string(p.total) : std::string();
    if (tty_) {
      constexpr int kWidth = 24;
      std::string bar(static_cast<size_t>(kWidth * p.fraction), '#');
      bar.resize(kWidth, '.');
      std::fprintf(stderr, "\r[%s] %3d%%  %-7s %-9s %-22s ETA %s\x1b[K", bar.c_str(), percent,
                   p.stage.c_str(), step.c_str(), where.c_str(),
                   format_duration(p.eta_s).c_str());
      drawn_ = true;
    } else {
      const std::string key = p.stage + where;
      if (key == last_key_ && percent / 10 == last_bucket_) return;
      last_key_ = key;
      last_bucket_ = percent / 10;
      std::fprintf(stderr, "%3d%% %s %s%s%s ETA %s\n", percent, p.stage.c_str(), step.c_str(),
                   where.empty() ? "" : " ", where.c_str(), format_duration(p.eta_s).c_str());
    }
    std::fflush(stderr);
  }

 private:
  bool tty_;
  bool drawn_ = false;
  std::string last_key_;
  int last_bucket_ = -1;
};

// Options shared by generate and render.
void read_common_options(Args& args, pipeline::RenderRequest& r) {
  pipeline::SamplingOverrides& s = r.options.sampling;
  if (auto n = args.integer("--steps", 1, 1000)) s.steps = static_cast<int>(*n);
  if (auto g = args.number("--guidance", 0, 100)) s.guidance = *g;
  if (auto v = args.number("--shift", 0.01, 100)) s.shift = *v;
  if (auto v = args.option("--solver")) {
    s.solver = named("--solver", [&] { return sampling::parse_solver_kind(*v); });
  }
  if (auto v = args.option("--memory")) {
    r.runtime.memory = named("--memory", [&] { return pipeline::parse_memory_mode(*v); });
  }
  if (auto n = args.integer("--overlap", 1, 1001)) r.options.window_overlap_frames = int(*n);
  if (auto v = args.option("--interpolation")) {
    r.options.interpolation =
        named("--interpolation", [&] { return media::parse_interpolation_method(*v); });
  }
  if (auto a = args.number("--sharpen", 0, 5)) r.options.sharpen_amount = *a;
  if (auto n = args.integer("--crf", 0, 51)) r.options.crf = static_cast<int>(*n);
  if (auto p = args.option("--preset")) {
    r.options.encoder_preset = parse_encoder_preset_option("--preset", *p);
  }
  r.keep_job = args.flag("--keep-job");
  if (auto p = args.option("--moderation-policy")) r.moderation_policy = fs::absolute(*p);
  r.visible_watermark = args.flag("--visible-watermark");
}

std::string join_stage_seconds(const pipeline::RenderResult& result) {
  std::string text;
  double total = 0;
  for (const auto& [stage, s] : result.stage_seconds) total += s;
  for (const char* stage : {"load", "text", "condition", "sample", "decode", "interpolate",
                            "upscale", "watermark", "encode"}) {
    const auto it = result.stage_seconds.find(stage);
    if (it == result.stage_seconds.end()) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.1f s", text.empty() ? "" : ", ", stage, it->second);
    text += buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.1f s)", total);
  return text + buf;
}

int run_job(pipeline::RenderJob& job) {
  pipeline::RenderResult result;
  try {
    RenderProgressPrinter printer;
    result = job.run([&printer](const pipeline::RenderProgress& p) { printer(p); },
                     interrupt_token());
  } catch (const Error&) {
    const fs::path dir = job.job_dir();
    std::error_code ec;
    if (fs::exists(dir / "job.json", ec)) {
      std::fprintf(stderr,
                   "the prompts and sampled windows are kept in %s\n"
                   "resume with: reelforge render --resume %s\n",
                   dir.c_str(), dir.c_str());
    }
    throw;
  }
  std::printf("wrote %s: %dx%d, %lld frames at %s fps (%.2f s)%s\n", result.output.c_str(),
              result.size.width_px, result.size.height_px, (long long)result.frames,
              result.fps.to_string().c_str(), result.duration_s,
              result.partial ? ", partial: the shots sampled so far" : "");
  std::printf("seed %llu; windows sampled %lld, reused %lld\n",
              (unsigned long long)job.request().storyboard.project.seed,
              (long long)result.windows_sampled, (long long)result.windows_reused);
  std::printf("time: %s\n", join_stage_seconds(result).c_str());
  std::printf("signed: %s (install %08x, generation %08x)\n", result.provenance.c_str(),
              result.install_id, result.generation_id);
  if (!result.job_dir.empty()) std::printf("job folder kept: %s\n", result.job_dir.c_str());
  return 0;
}

// The storyboard names a model by name; a folder given on the command line is loaded from there.
void use_model(const std::string& name_or_dir, pipeline::RenderRequest& r) {
  const models::ModelManifest manifest = models::find_model(name_or_dir);
  r.storyboard.project.model = manifest.name;
  r.model_dir = manifest.dir;
}

uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ uint64_t(rd());
}

}  // namespace

int run_generate(Args& args) {
  pipeline::RenderRequest r;
  storyboard::Storyboard& sb = r.storyboard;
  storyboard::Shot shot;
  shot.id = "shot-1";
  const auto output = args.option("--output", "-o");
  if (auto v = args.option("--negative")) shot.negative_prompt = *v;
  const auto image = args.option("--image");
  const auto image_at = args.option("--image-at");
  const auto video = args.option("--video");
  const auto strength = args.number("--strength", 0, 1);
  if (auto v = args.option("--aspect")) {
    sb.project.aspect = named("--aspect", [&] { return media::parse_aspect(*v); });
  }
  sb.project.resolution = media::Resolution::P1080;
  if (auto v = args.option("--resolution")) {
    sb.project.resolution = named("--resolution", [&] { return media::parse_resolution(*v); });
  }
  shot.duration_s = args.number("--duration", 0.05, storyboard::kMaxTotalDuration_s).value_or(5);
  if (auto v = args.option("--fps")) sb.project.fps = parse_fps_option("--fps", *v).value();
  sb.project.quality =
      args.flag("--draft") ? storyboard::QualityPreset::Draft : storyboard::QualityPreset::Final;
  sb.title = args.option_or("--title", "");
  const std::string model = args.option_or("--model", models::default_model_name());
  const auto seed = args.integer("--seed", 0, std::numeric_limits<long long>::max());
  read_common_options(args, r);
  shot.prompt = args.positional("prompt");
  args.finish();

  if (!output) throw Error(ErrorCategory::InvalidArgument, "missing -o/--output OUT.mp4");
  if (image_at && !image) {
    throw Error(ErrorCategory::InvalidArgument, "--image-at needs --image IMG");
  }
  if (strength && !video) {
    throw Error(ErrorCategory::InvalidArgument, "--strength needs --video CLIP");
  }
  if (image) {
    storyboard::Keyframe k;
    k.path = fs::absolute(*image).string();
    if (image_at) k.at = named("--image-at", [&] { return storyboard::parse_keyframe_at(*image_at); });
    shot.keyframe = k;
  }
  if (video) {
    storyboard::SourceVideo v;
    v.path = fs::absolute(*video).string();
    if (strength) v.strength = *strength;
    shot.source_video = v;
  }
  sb.project.seed = seed ? static_cast<uint64_t>(*seed) : random_seed();
  shot.seed = sb.project.seed;
  sb.shots.push_back(shot);
  if (sb.title.empty()) sb.title = shot.prompt.substr(0, 80);
  use_model(model, r);
  r.base_dir = fs::current_path();
  r.output = *output;
  pipeline::RenderJob job(std::move(r));
  return run_job(job);
}

int run_render(Args& args) {
  const auto resume = args.option("--resume");
  const bool partial = args.flag("--partial");
  if (resume) {
    const bool extra = !args.empty();
    args.finish();  // names a stray option
    if (extra) throw Error(ErrorCategory::InvalidArgument, "--resume takes only --partial");
    pipeline::RenderJob job = pipeline::RenderJob::resume(*resume);
    job.request().deliver_partial = partial;
    return run_job(job);
  }
  if (partial) throw Error(ErrorCategory::InvalidArgument, "--partial goes with --resume JOB_DIR");
  pipeline::RenderRequest r;
  const auto output = args.option("--output", "-o");
  const auto model = args.option("--model");
  const bool draft = args.flag("--draft");
  const bool final_quality = args.flag("--final");
  read_common_options(args, r);
  const fs::path file = args.positional("storyboard file");
  args.finish();
  if (draft && final_quality) {
    throw Error(ErrorCategory::InvalidArgument, "--draft and --final exclude each other");
  }
  storyboard::LoadOptions load;
  load.validation.media = storyboard::MediaChecks::None;  // checked with the model, in the job
  r.storyboard = storyboard::load(file, load);
  if (model) use_model(*model, r);
  if (draft) r.storyboard.project.quality = storyboard::QualityPreset::Draft;
  if (final_quality) r.storyboard.project.quality = storyboard::QualityPreset::Final;
  r.base_dir = fs::absolute(file).parent_path();
  r.output = output ? fs::path(*output) : fs::path(file).replace_extension(".mp4");
  pipeline::RenderJob job(std::move(r));
  return run_job(job);
}

}  // namespace reelforge::cli
