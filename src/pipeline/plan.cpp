#include "reelforge/pipeline/plan.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"
#include "reelforge/storyboard/validation.hpp"

namespace reelforge::pipeline {
namespace fs = std::filesystem;

namespace {

constexpr double kFrameEpsilon = 1e-6;

bool is_one_plus_4k(int64_t n) { return n >= 1 && (n - 1) % 4 == 0; }

int64_t round_up_to_window(int64_t frames) {  // the smallest 1 + 4k >= frames
  return frames <= 1 ? 1 : 1 + 4 * ((frames - 1 + 3) / 4);
}

// A stable, well-mixed seed for window `index` of a shot.
uint64_t mix_seed(uint64_t seed, uint64_t index) {
  return splitmix64(seed ^ splitmix64(index));
}

int64_t frame_at(double time_s, double fps) {
  return static_cast<int64_t>(std::llround(time_s * fps));
}

std::string shot_name(const storyboard::Shot& shot, size_t index) {
  return "shot " + std::to_string(index + 1) + " (\"" + shot.id + "\")";
}

std::string tasks_text(const models::ModelManifest& model) {
  std::string text;
  for (models::Task t : model.tasks) text += (text.empty() ? "" : ", ") + std::string(to_string(t));
  return text.empty() ? "none" : text;
}

}  // namespace

int64_t ShotPlan::sampling_steps(const SamplingSettings& sampling) const {
  int64_t per_window = sampling.steps;
  if (source_video) {
    per_window = static_cast<int64_t>(std::floor(sampling.steps * strength + 1e-9));
  }
  return per_window * static_cast<int64_t>(windows.size());
}

double RenderPlan::duration_s() const { return output_frames / output_fps.value(); }

int64_t RenderPlan::window_count() const {
  int64_t n = 0;
  for (const ShotPlan& s : shots) n += static_cast<int64_t>(s.windows.size());
  return n;
}

int64_t RenderPlan::total_sampling_steps() const {
  int64_t n = 0;
  for (const ShotPlan& s : shots) n += s.sampling_steps(sampling);
  return n;
}

std::vector<WindowPlan> plan_windows(int64_t needed_frames, int64_t window_frames,
                                     int64_t overlap_frames, uint64_t seed) {
  if (needed_frames < 1) {
    throw Error(ErrorCategory::InvalidArgument,
                "a shot needs at least 1 frame; got " + std::to_string(needed_frames));
  }
  if (!is_one_plus_4k(window_frames)) {
    throw Error(ErrorCategory::InvalidArgument,
                "the model's window of " + std::to_string(window_frames) +
                    " frames is not 1 + 4k (e.g. 17, 33, 81)");
  }
  std::vector<WindowPlan> windows;
  if (needed_frames <= window_frames) {
    windows.push_back({0, 0, round_up_to_window(needed_frames), 0, seed});
    return windows;
  }
  if (!is_one_plus_4k(overlap_frames) || overlap_frames >= window_frames) {
    throw Error(ErrorCategory::InvalidArgument,
                "window overlap of " + std::to_string(overlap_frames) +
                    " frames must be 1 + 4k and less than the model's window of " +
                    std::to_string(window_frames) + " frames");
  }
  windows.push_back({0, 0, window_frames, 0, seed});
  int64_t produced = window_frames;
  while (produced < needed_frames) {
    const int64_t remaining = needed_frames - produced;
    const int64_t length =
        std::min(window_frames, overlap_frames + 4 * ((remaining + 3) / 4));
    const int index = static_cast<int>(windows.size());
    windows.push_back({index, produced - overlap_frames, length, overlap_frames,
                       mix_seed(seed, static_cast<uint64_t>(index))});
    produced += length - overlap_frames;
  }
  return windows;
}

int64_t frames_produced(const std::vector<WindowPlan>& windows) {
  if (windows.empty()) return 0;
  return windows.back().first_frame + windows.back().frame_count;
}

int64_t native_frames_for(int64_t output_frames, double native_fps, double output_fps) {
  if (output_frames <= 1) return 1;
  const double last = (output_frames - 1) * native_fps / output_fps;
  return static_cast<int64_t>(std::ceil(last - kFrameEpsilon)) + 1;
}

SamplingSettings resolve_sampling(const models::ModelManifest& model,
                                  storyboard::QualityPreset quality,
                                  const SamplingOverrides& overrides) {
  SamplingSettings s;
  s.steps = model.defaults.steps;
  if (quality == storyboard::QualityPreset::Draft) s.steps = std::max(1, (s.steps + 1) / 2);
  s.guidance = model.defaults.guidance;
  s.shift = model.defaults.shift;
  s.solver = sampling::parse_solver_kind(model.defaults.solver);
  if (overrides.steps) {
    if (*overrides.steps < 1 || *overrides.steps > 1000) {
      throw Error(ErrorCategory::InvalidArgument,
                  "steps " + std::to_string(*overrides.steps) + " is out of range; valid: 1 to 1000");
    }
    s.steps = *overrides.steps;
  }
  if (overrides.guidance) {
    if (!std::isfinite(*overrides.guidance) || *overrides.guidance < 0 ||
        *overrides.guidance > 100) {
      throw Error(ErrorCategory::InvalidArgument,
                  "guidance " + std::to_string(*overrides.guidance) +
                      " is out of range; valid: 0 to 100 (1 = no guidance)");
    }
    s.guidance = *overrides.guidance;
  }
  if (overrides.shift) {
    if (!std::isfinite(*overrides.shift) || *overrides.shift <= 0 || *overrides.shift > 100) {
      throw Error(ErrorCategory::InvalidArgument, "shift " + std::to_string(*overrides.shift) +
                                                      " is out of range; valid: above 0 up to 100");
    }
    s.shift = *overrides.shift;
  }
  if (overrides.solver) s.solver = *overrides.solver;
  return s;
}

bool model_conditions_on_images(const models::ModelManifest& model) {
  return model.dit.model_type == "ti2v" && model.supports(models::Task::ImageToVideo);
}

RenderPlan plan_render(const storyboard::Storyboard& sb, const fs::path& base_dir,
                       const models::ModelManifest& model, const RenderOptions& options) {
  if (sb.shots.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "the storyboard has no shots");
  }
  RenderPlan plan;
  plan.model_name = model.name;
  plan.aspect = sb.project.aspect;
  plan.quality = sb.project.quality;
  plan.options = options;
  const auto native = model.native_sizes.find(media::aspect_name(sb.project.aspect));
  if (native == model.native_sizes.end()) {
    std::string have;
    for (const auto& [name, size] : model.native_sizes) have += (have.empty() ? "" : ", ") + name;
    throw Error(ErrorCategory::Unsupported,
                "model '" + model.name + "' has no native size for the " +
                    media::aspect_name(sb.project.aspect) + " (" +
                    media::to_string(sb.project.aspect) + ") aspect; it has: " + have);
  }
  plan.native_size = {native->second.width_px, native->second.height_px};
  plan.native_fps = model.fps;
  plan.window_frames = model.frame_count;
  plan.output_fps = media::FrameRate::from_double(sb.project.fps);
  plan.output_size = sb.project.quality == storyboard::QualityPreset::Draft
                         ? plan.native_size
                         : media::preset_size(sb.project.aspect, sb.project.resolution);
  plan.sampling = resolve_sampling(model, sb.project.quality, options.sampling);
  if (options.crf < 0 || options.crf > 51) {
    throw Error(ErrorCategory::InvalidArgument,
                "crf " + std::to_string(options.crf) + " is out of range; valid: 0 to 51");
  }

  const double fps = plan.output_fps.value();
  const std::vector<storyboard::ShotTiming> timeline = sb.timeline();
  const bool images = model_conditions_on_images(model);
  for (size_t i = 0; i < sb.shots.size(); ++i) {
    const storyboard::Shot& shot = sb.shots[i];
    ShotPlan s;
    s.index = i;
    s.id = shot.id;
    s.prompt = shot.prompt;
    s.negative_prompt =
        shot.negative_prompt.empty() ? model.defaults.negative_prompt : shot.negative_prompt;
    s.continuity = shot.continuity;
    s.seed = sb.effective_seed(shot);
    s.duration_s = shot.duration_s;
    if (shot.keyframe) {
      if (!images) {
        throw Error(ErrorCategory::Unsupported,
                    shot_name(shot, i) + " has a keyframe, but model '" + model.name +
                        "' cannot condition on images (it supports: " + tasks_text(model) +
                        "); remove the keyframe or choose an image-to-video model");
      }
      s.keyframe = storyboard::resolve_media_path(shot.keyframe->path, base_dir);
      s.keyframe_at = shot.keyframe->at;
    }
    if (shot.source_video) {
      if (!model.supports(models::Task::VideoToVideo)) {
        throw Error(ErrorCategory::Unsupported,
                    shot_name(shot, i) + " has a source video, but model '" + model.name +
                        "' does not do video-to-video (it supports: " + tasks_text(model) + ")");
      }
      s.source_video = storyboard::resolve_media_path(shot.source_video->path, base_dir);
      s.strength = shot.source_video->strength;
    }
    const int64_t start = frame_at(timeline[i].start_s, fps);
    const int64_t end = frame_at(timeline[i].end_s, fps);
    s.first_output_frame = start;
    s.output_frames = std::max<int64_t>(1, end - start);
    if (i > 0 && shot.transition.kind == storyboard::TransitionKind::Crossfade) {
      const int64_t previous_end = frame_at(timeline[i - 1].end_s, fps);
      s.crossfade_frames = std::clamp<int64_t>(previous_end - start, 0, s.output_frames - 1);
    }
    s.native_frames = native_frames_for(s.output_frames, plan.native_fps, fps);
    s.windows = plan_windows(s.native_frames, plan.window_frames, options.window_overlap_frames,
                             s.seed);
    plan.shots.push_back(std::move(s));
  }
  const ShotPlan& last = plan.shots.back();
  plan.output_frames = last.first_output_frame + last.output_frames;
  return plan;
}

nlohmann::json RenderPlan::to_json() const {
  nlohmann::json shots_json = nlohmann::json::array();
  for (const ShotPlan& s : shots) {
    nlohmann::json windows_json = nlohmann::json::array();
    for (const WindowPlan& w : s.windows) {
      windows_json.push_back({{"first_frame", w.first_frame},
                              {"frame_count", w.frame_count},
                              {"overlap_frames", w.overlap_frames},
                              {"seed", w.seed}});
    }
    nlohmann::json shot = {{"id", s.id},
                           {"prompt", s.prompt},
                           {"negative_prompt", s.negative_prompt},
                           {"seed", s.seed},
                           {"duration_s", s.duration_s},
                           {"continuity", storyboard::to_string(s.continuity)},
                           {"native_frames", s.native_frames},
                           {"first_output_frame", s.first_output_frame},
                           {"output_frames", s.output_frames},
                           {"crossfade_frames", s.crossfade_frames},
                           {"windows", windows_json}};
    if (s.keyframe) {
      shot["keyframe"] = {{"path", s.keyframe->string()},
                          {"at", storyboard::to_string(s.keyframe_at)}};
    }
    if (s.source_video) {
      shot["source_video"] = {{"path", s.source_video->string()}, {"strength", s.strength}};
    }
    shots_json.push_back(std::move(shot));
  }
  return {{"model", model_name},
          {"aspect", media::to_string(aspect)},
          {"native_size", {native_size.width_px, native_size.height_px}},
          {"native_fps", native_fps},
          {"window_frames", window_frames},
          {"window_overlap_frames", options.window_overlap_frames},
          {"output_size", {output_size.width_px, output_size.height_px}},
          {"output_fps", output_fps.to_string()},
          {"output_frames", output_frames},
          {"quality", storyboard::to_string(quality)},
          {"sampling",
           {{"steps", sampling.steps},
            {"guidance", sampling.guidance},
            {"shift", sampling.shift},
            {"solver", sampling::to_string(sampling.solver)}}},
          {"interpolation", media::to_string(options.interpolation)},
          {"sharpen_amount", options.sharpen_amount},
          {"shots", shots_json}};
}

}  // namespace reelforge::pipeline
