#include "reelforge/training/evaluation.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/pipeline/generator.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/pipeline/plan.hpp"
#include "reelforge/sampling/guidance.hpp"
#include "reelforge/sampling/schedule.hpp"

namespace reelforge::training {
namespace {

using Clock = std::chrono::steady_clock;

// Distinct noise streams for the two modes and every clip, all from the one --seed.
uint64_t clip_seed(uint64_t seed, EvalMode mode, int index) {
  const uint64_t lane = mode == EvalMode::TextToVideo ? 0x7432ull : 0x6932ull;
  return splitmix64(splitmix64(seed ^ (lane << 32)) + static_cast<uint64_t>(index));
}

// Specs with one object only: with two objects the scorer reads the largest one, which need not
// be the main object the prompt leads with, so a correct clip could be scored wrong.
dataset::ClipSpec sample_single_object(std::mt19937_64& rng, dataset::Split split,
                                       const dataset::WorldMix& mix) {
  dataset::ClipSpec spec;
  do {
    spec = dataset::sample_clip(rng, split, mix);
  } while (spec.objects.size() != 1);
  return spec;
}

struct Bucket {
  std::string name;
  media::FrameSize size;
};

nlohmann::json spec_json(const dataset::ClipSpec& spec) {
  const dataset::ObjectSpec& o = spec.objects.front();
  return {{"background", dataset::to_string(spec.background)},
          {"color", dataset::to_string(o.color)},
          {"shape", dataset::to_string(o.shape)},
          {"size", dataset::to_string(o.size)},
          {"motion", dataset::to_string(o.motion)}};
}

nlohmann::json reading_json(const dataset::ClipReading& r) {
  nlohmann::json j = {{"found", r.found}, {"stability", r.stability}};
  if (r.found) {
    j["background"] = dataset::to_string(r.background);
    j["color"] = dataset::to_string(r.color);
    j["shape"] = dataset::to_string(r.shape);
    j["size"] = dataset::to_string(r.size);
    j["motion"] = dataset::to_string(r.motion);
  }
  return j;
}

nlohmann::json tally_json(const Tally& t, double goal) {
  nlohmann::json j = {{"correct", t.correct}, {"total", t.total}, {"rate", t.rate()}};
  if (goal > 0) {
    j["goal"] = goal;
    j["met"] = t.total > 0 && t.rate() >= goal;
  }
  return j;
}

std::string percent(const Tally& t) {
  if (t.total == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * t.rate());
  return buf;
}

}  // namespace

const char* to_string(Attribute attribute) {
  switch (attribute) {
    case Attribute::Background:
      return "background";
    case Attribute::Color:
      return "color";
    case Attribute::Shape:
      return "shape";
    case Attribute::Size:
      return "size";
    case Attribute::Motion:
      return "motion";
    case Attribute::Stability:
      return "stability";
  }
  return "?";
}

const std::array<Attribute, kAttributeCount>& all_attributes() {
  static const std::array<Attribute, kAttributeCount> all = {
      Attribute::Background, Attribute::Color,  Attribute::Shape,
      Attribute::Size,       Attribute::Motion, Attribute::Stability};
  return all;
}

const char* to_string(EvalMode mode) {
  return mode == EvalMode::TextToVideo ? "t2v" : "i2v";
}

bool AttributeCheck::all_correct() const {
  for (bool c : correct) {
    if (!c) return false;
  }
  return true;
}

AttributeCheck score_reading(const dataset::ClipSpec& expected,
                             const dataset::ClipReading& reading) {
  if (expected.objects.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "cannot score a clip spec without objects");
  }
  AttributeCheck check;
  if (!reading.found) return check;
  const dataset::ObjectSpec& o = expected.objects.front();
  auto set = [&check](Attribute a, bool ok) { check.correct[static_cast<size_t>(a)] = ok; };
  set(Attribute::Background, reading.background == expected.background);
  set(Attribute::Color, reading.color == o.color);
  set(Attribute::Shape, reading.shape == o.shape);
  set(Attribute::Size, reading.size == o.size);
  set(Attribute::Motion, reading.motion == o.motion);
  set(Attribute::Stability, reading.stability >= kStableFraction);
  return check;
}

EvalReport evaluate_model(pipeline::ModelRuntime& runtime, const EvalOptions& options,
                          const ProgressCallback& progress, const CancellationToken* cancel,
                          const EvalClipCallback& on_clip) {
  const Clock::time_point start = Clock::now();
  if (options.clips < 0 || options.i2v_clips < 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "clip counts must be 0 or more; got " + std::to_string(options.clips) +
                    " text-to-video and " + std::to_string(options.i2v_clips) + " image-to-video");
  }
  if (options.split == dataset::Split::HeldOut && options.mix != dataset::WorldMix{}) {
    throw Error(ErrorCategory::InvalidArgument,
                "a world mix draws training combinations; held-out prompts are the world's own "
                "mix");
  }
  options.mix.validate();
  if (options.source_strength && options.vae_round_trip) {
    throw Error(ErrorCategory::InvalidArgument,
                "a VAE round trip samples nothing, so it takes no source strength");
  }
  const models::ModelManifest& manifest = runtime.manifest();
  pipeline::SamplingOverrides overrides;
  overrides.steps = options.steps;
  overrides.guidance = options.guidance;
  const pipeline::SamplingSettings sampling =
      pipeline::resolve_sampling(manifest, storyboard::QualityPreset::Final, overrides);

  std::vector<Bucket> buckets;
  for (const auto& [name, size] : manifest.native_sizes) {
    buckets.push_back({name, {size.width_px, size.height_px}});
  }
  if (buckets.empty()) {
    throw Error(ErrorCategory::Validation,
                "model '" + manifest.name + "' lists no native sizes to generate at");
  }
  const int i2v_clips = runtime.conditions_on_images() ? options.i2v_clips : 0;

  EvalReport report;
  report.model = manifest.name;
  report.steps = sampling.steps;
  report.guidance = sampling.guidance;
  report.seed = options.seed;

  const CancellationToken no_cancel;
  const CancellationToken& token = cancel ? *cancel : no_cancel;
  const bool guided = sampling::needs_unconditional_pass(sampling.guidance);
  const std::string& negative_prompt = manifest.defaults.negative_prompt;

  report.vae_round_trip = options.vae_round_trip;
  report.source_strength = options.source_strength;
  report.split = options.split;
  report.mix = options.mix;
  int steps_per_clip = options.vae_round_trip ? 1 : sampling.steps;
  if (options.source_strength) {  // start_for_strength refuses strengths outside [0, 1]
    const sampling::Schedule schedule = sampling::make_schedule(
        sampling::resolve_grid(sampling::SigmaGrid::SolverDefault, sampling.solver), sampling.steps,
        sampling.shift);
    steps_per_clip =
        std::max(1, sampling::start_for_strength(schedule, *options.source_strength).steps_to_run);
  }
  const int64_t total_steps = static_cast<int64_t>(options.clips + i2v_clips) * steps_per_clip;
  auto emit = [&](int64_t step, const std::string& detail) {
    if (progress) progress(Progress{"eval", step, total_steps, detail});
  };

  auto generate_clip = [&](const EvalClip& clip, const Bucket& bucket, EvalMode mode,
                           int64_t first_step, const std::string& detail) {
    std::vector<std::string> prompts = {clip.prompt};
    if (guided) prompts.push_back(negative_prompt);
    const std::vector<at::Tensor> contexts = runtime.encode_text(prompts, token);

    pipeline::WindowRequest request;
    request.context = contexts[0];
    if (guided) request.negative_context = contexts[1];
    request.frame_count = manifest.frame_count;
    request.size = bucket.size;
    request.sampling = sampling;
    request.seed = clip.seed;
    const bool from_render = options.source_strength.has_value();
    std::vector<cv::Mat> rendered;
    if (mode == EvalMode::ImageToVideo || from_render) {
      rendered = dataset::render_clip(clip.expected, bucket.size, manifest.frame_count);
    }
    if (from_render) {
      request.source_latent = pipeline::encode_frames(runtime, rendered, &token);
      request.strength = *options.source_strength;
    }
    if (mode == EvalMode::ImageToVideo) {
      request.conditions.push_back(
          {pipeline::encode_frames(runtime, {rendered.front()}, &token), 0});
      request.method = pipeline::ConditioningMethod::CleanTokens;
    }
    pipeline::WindowCallbacks callbacks;
    callbacks.cancel = &token;
    callbacks.on_step = [&](int step, int) { emit(first_step + step, detail); };
    const at::Tensor latent = pipeline::sample_window(runtime, request, callbacks);
    return pipeline::decode_latent(runtime, latent, &token);
  };

  std::mt19937_64 rng(options.seed);
  int clip_number = 0;
  auto run_clip = [&](EvalMode mode, int index) {
    token.throw_if_cancelled("evaluation");
    const Clock::time_point clip_start = Clock::now();
    EvalClip clip;
    clip.mode = mode;
    clip.index = index;
    clip.expected = sample_single_object(rng, options.split, options.mix);
    clip.prompt = dataset::canonical_caption(clip.expected);
    const Bucket& bucket = buckets[static_cast<size_t>(clip_number) % buckets.size()];
    clip.bucket = bucket.name;
    clip.width_px = bucket.size.width_px;
    clip.height_px = bucket.size.height_px;
    clip.seed = clip_seed(options.seed, mode, index);

    const int64_t first_step = static_cast<int64_t>(clip_number) * steps_per_clip;
    const std::string detail =
        std::string(to_string(mode)) + " " + std::to_string(index + 1) + ": " + clip.prompt;
    emit(first_step, detail);

    std::vector<cv::Mat> frames;
    if (options.vae_round_trip) {
      const std::vector<cv::Mat> rendered =
          dataset::render_clip(clip.expected, bucket.size, manifest.frame_count);
      frames = pipeline::decode_latent(runtime, pipeline::encode_frames(runtime, rendered, &token),
                                       &token);
    } else {
      frames = generate_clip(clip, bucket, mode, first_step, detail);
    }

    clip.read = dataset::read_clip(frames);
    clip.check = score_reading(clip.expected, clip.read);
    if (mode == EvalMode::ImageToVideo) {
      // Frame 0 alone (read_clip needs two frames, so twice): what the model kept of the still.
      const dataset::ClipReading first = dataset::read_clip({frames.front(), frames.front()});
      const dataset::ObjectSpec& o = clip.expected.objects.front();
      clip.first_frame = first;
      clip.keyframe_kept = first.found && first.color == o.color && first.shape == o.shape;
      clip.moves_as_prompted = clip.read.found && clip.read.motion == o.motion;
    }
    clip.seconds = seconds_since(clip_start);
    if (on_clip) on_clip(clip, frames);
    report.clips.push_back(std::move(clip));
    ++clip_number;
  };

  for (int i = 0; i < options.clips; ++i) run_clip(EvalMode::TextToVideo, i);
  for (int i = 0; i < i2v_clips; ++i) run_clip(EvalMode::ImageToVideo, i);
  emit(total_steps, "done");

  for (const EvalClip& clip : report.clips) {
    if (clip.mode == EvalMode::TextToVideo) {
      for (Attribute a : all_attributes()) {
        Tally& t = report.attributes[static_cast<size_t>(a)];
        t.correct += clip.check[a] ? 1 : 0;
        ++t.total;
      }
      report.all_correct.correct += clip.check.all_correct() ? 1 : 0;
      ++report.all_correct.total;
    } else {
      report.keyframe_kept.correct += clip.keyframe_kept ? 1 : 0;
      ++report.keyframe_kept.total;
      report.moves_as_prompted.correct += clip.moves_as_prompted ? 1 : 0;
      ++report.moves_as_prompted.total;
    }
  }
  report.seconds = seconds_since(start);
  return report;
}

namespace {

// The class name of attribute `a` in a reading ("nothing" when no object was found); nullptr for
// stability, which has no classes.
const char* read_class(const dataset::ClipReading& r, Attribute a) {
  if (!r.found) return "nothing";
  switch (a) {
    case Attribute::Background:
      return dataset::to_string(r.background);
    case Attribute::Color:
      return dataset::to_string(r.color);
    case Attribute::Shape:
      return dataset::to_string(r.shape);
    case Attribute::Size:
      return dataset::to_string(r.size);
    case Attribute::Motion:
      return dataset::to_string(r.motion);
    case Attribute::Stability:
      break;
  }
  return nullptr;
}

// What a reader that sees `spec` exactly would read: its background and main object.
dataset::ClipReading as_read(const dataset::ClipSpec& spec) {
  const dataset::ObjectSpec& o = spec.objects.front();
  dataset::ClipReading r;
  r.found = true;
  r.background = spec.background;
  r.color = o.color;
  r.shape = o.shape;
  r.size = o.size;
  r.motion = o.motion;
  return r;
}

}  // namespace

std::vector<Misreading> misreadings(const EvalReport& report) {
  std::vector<Misreading> out;
  for (Attribute a : all_attributes()) {
    if (a == Attribute::Stability) continue;
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const EvalClip& c : report.clips) {
      if (c.mode != EvalMode::TextToVideo || c.check[a]) continue;
      ++counts[{read_class(as_read(c.expected), a), read_class(c.read, a)}];
    }
    const size_t first = out.size();
    for (const auto& [classes, count] : counts) {
      out.push_back({a, classes.first, classes.second, count});
    }
    // std::map already orders by name; a stable sort keeps that order among equal counts.
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                     [](const Misreading& x, const Misreading& y) { return x.count > y.count; });
  }
  return out;
}

std::string format_report(const EvalReport& report) {
  std::string out;
  char line[1024];
  std::string combinations = report.split == dataset::Split::HeldOut
                                 ? "held-out combinations"
                                 : "training combinations (the goals are for held-out ones)";
  if (report.mix != dataset::WorldMix{}) {
    combinations += " of the world mix [" + dataset::to_string(report.mix) + "]";
  }
  if (report.vae_round_trip) {
    std::snprintf(line, sizeof line,
                  "model %s: VAE round trip of %d rendered clips of %s, seed %llu (%.1f s) -- the "
                  "ceiling the VAE sets, no generation\n\n",
                  report.model.c_str(), report.all_correct.total, combinations.c_str(),
                  static_cast<unsigned long long>(report.seed), report.seconds);
  } else if (report.source_strength) {
    std::snprintf(line, sizeof line,
                  "model %s: %d video-to-video clips from the world's renders of %s at strength "
                  "%.2f, %d steps, guidance %.2f, seed %llu (%.1f s)\n\n",
                  report.model.c_str(), report.all_correct.total, combinations.c_str(),
                  *report.source_strength, report.steps, report.guidance,
                  static_cast<unsigned long long>(report.seed), report.seconds);
  } else {
    std::snprintf(line, sizeof line,
                  "model %s: %d text-to-video clips of %s, %d steps, guidance %.2f, seed %llu "
                  "(%.1f s)\n\n",
                  report.model.c_str(), report.all_correct.total, combinations.c_str(),
                  report.steps, report.guidance, static_cast<unsigned long long>(report.seed),
                  report.seconds);
  }
  out += line;
  auto row = [&](const char* name, const Tally& t, double goal) {
    const char* verdict = t.total == 0 ? "-" : (t.rate() >= goal ? "met" : "not met");
    const std::string counts = std::to_string(t.correct) + "/" + std::to_string(t.total);
    char goal_text[16];
    std::snprintf(goal_text, sizeof goal_text, ">= %.0f%%", 100 * goal);
    std::snprintf(line, sizeof line, "  %-13s %9s %8s %9s  %s\n", name, counts.c_str(),
                  percent(t).c_str(), goal_text, verdict);
    out += line;
  };
  std::snprintf(line, sizeof line, "  %-13s %9s %8s %9s  %s\n", "attribute", "correct", "%", "goal",
                "result");
  out += line;
  for (Attribute a : all_attributes()) row(to_string(a), report.attribute(a), kAttributeGoal);
  row("all correct", report.all_correct, kAllCorrectGoal);
  const std::vector<Misreading> wrong = misreadings(report);
  if (!wrong.empty()) {
    out += "\nmisread as (asked -> read, clips):\n";
    for (size_t i = 0; i < wrong.size();) {
      std::string text = std::string("  ") + to_string(wrong[i].attribute) + ":";
      text.resize(std::max<size_t>(text.size() + 1, 15), ' ');
      const Attribute a = wrong[i].attribute;
      for (bool first = true; i < wrong.size() && wrong[i].attribute == a; ++i, first = false) {
        text += (first ? "" : ", ") + wrong[i].expected + " -> " + wrong[i].read + " " +
                std::to_string(wrong[i].count);
      }
      out += text + "\n";
    }
  }
  if (report.keyframe_kept.total > 0) {
    std::snprintf(line, sizeof line,
                  "\nimage-to-video (%d clips): keyframe kept %d/%d (%s), moves as prompted "
                  "%d/%d (%s)\n",
                  report.keyframe_kept.total, report.keyframe_kept.correct,
                  report.keyframe_kept.total, percent(report.keyframe_kept).c_str(),
                  report.moves_as_prompted.correct, report.moves_as_prompted.total,
                  percent(report.moves_as_prompted).c_str());
    out += line;
  } else {
    out +=
        "\nimage-to-video: not evaluated (no clips, or the model does not condition on images)\n";
  }
  return out;
}

nlohmann::json to_json(const EvalReport& report) {
  nlohmann::json attributes = nlohmann::json::object();
  for (Attribute a : all_attributes()) {
    attributes[to_string(a)] = tally_json(report.attribute(a), kAttributeGoal);
  }
  nlohmann::json clips = nlohmann::json::array();
  for (const EvalClip& c : report.clips) {
    nlohmann::json correct = nlohmann::json::object();
    for (Attribute a : all_attributes()) correct[to_string(a)] = c.check[a];
    nlohmann::json j = {{"mode", to_string(c.mode)},
                        {"index", c.index},
                        {"prompt", c.prompt},
                        {"bucket", c.bucket},
                        {"size", {c.width_px, c.height_px}},
                        {"seed", c.seed},
                        {"expected", spec_json(c.expected)},
                        {"read", reading_json(c.read)},
                        {"correct", correct},
                        {"all_correct", c.check.all_correct()},
                        {"seconds", c.seconds}};
    if (c.mode == EvalMode::ImageToVideo) {
      if (c.first_frame) j["first_frame"] = reading_json(*c.first_frame);
      j["keyframe_kept"] = c.keyframe_kept;
      j["moves_as_prompted"] = c.moves_as_prompted;
    }
    clips.push_back(std::move(j));
  }
  nlohmann::json wrong = nlohmann::json::array();
  for (const Misreading& m : misreadings(report)) {
    wrong.push_back({{"attribute", to_string(m.attribute)},
                     {"expected", m.expected},
                     {"read", m.read},
                     {"count", m.count}});
  }
  const char* source = report.vae_round_trip    ? "vae_round_trip"
                       : report.source_strength ? "renders_video_to_video"
                                                : "generated";
  nlohmann::json out = {{"model", report.model},
                        {"source", source},
                        {"split", dataset::to_string(report.split)},
                        {"world_mix", dataset::to_string(report.mix)},
                        {"misreadings", std::move(wrong)},
                        {"steps", report.steps},
                        {"guidance", report.guidance},
                        {"seed", report.seed},
                        {"seconds", report.seconds},
                        {"attributes", attributes},
                        {"all_correct", tally_json(report.all_correct, kAllCorrectGoal)},
                        {"i2v",
                         {{"keyframe_kept", tally_json(report.keyframe_kept, 0)},
                          {"moves_as_prompted", tally_json(report.moves_as_prompted, 0)}}},
                        {"clips", clips}};
  if (report.source_strength) out["source_strength"] = *report.source_strength;
  return out;
}

}  // namespace reelforge::training
