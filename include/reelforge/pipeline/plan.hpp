#pragma once
// A render plan: what a storyboard becomes for one model before anything heavy runs. Every shot
// is mapped to the model's native size and fps, split into sampling windows of at most the
// model's native frame count (1 + 4k frames, consecutive windows sharing an overlap), given its
// seeds, and placed on the output timeline in frames of the output fps. Planning is cheap and
// torch-free, so front ends can show a plan (frames, windows, steps) and tests can check the
// arithmetic of every preset and duration without sampling anything.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/interpolate.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/sampling/schedule.hpp"
#include "reelforge/storyboard/storyboard.hpp"

namespace reelforge::pipeline {

struct SamplingSettings {
  int steps = 50;
  double guidance = 5.0;
  double shift = 5.0;
  sampling::SolverKind solver = sampling::SolverKind::UniPC;
};

// Settings that override the model's defaults (nullopt = the manifest's value, halved steps for
// a draft).
struct SamplingOverrides {
  std::optional<int> steps;
  std::optional<double> guidance;
  std::optional<double> shift;
  std::optional<sampling::SolverKind> solver;
};

struct RenderOptions {
  SamplingOverrides sampling;
  // Native frames shared by consecutive windows of a long shot: 1 + 4k (whole latent frames),
  // less than the model's window. The next window is conditioned on them and cross-faded over
  // them.
  int window_overlap_frames = 5;
  media::InterpolationMethod interpolation = media::InterpolationMethod::MotionCompensated;
  double sharpen_amount = 0.35;  // unsharp mask after the Lanczos upscale; 0 = none
  int crf = 20;
  std::string encoder_preset = "medium";
  int preview_every_steps = 2;  // latent previews during sampling; 0 = none
};

// One sampling window of a shot, in the shot's native frames.
struct WindowPlan {
  int index = 0;
  int64_t first_frame = 0;     // the window's frame 0 in the shot's native frames
  int64_t frame_count = 0;     // 1 + 4k
  int64_t overlap_frames = 0;  // shared with the previous window (0 for the first)
  uint64_t seed = 0;           // its starting noise
};

// How a shot is generated: from text alone, or conditioned on a still, a source clip and/or the
// previous shot's last frame.
struct ShotPlan {
  size_t index = 0;
  std::string id;
  std::string prompt;
  std::string negative_prompt;  // the shot's, or the model's default when it has none
  std::optional<std::filesystem::path> keyframe;  // resolved against the storyboard's folder
  storyboard::KeyframeAt keyframe_at = storyboard::KeyframeAt::First;
  std::optional<std::filesystem::path> source_video;
  double strength = 1.0;  // video-to-video: 0 keeps the source, 1 ignores it
  storyboard::Continuity continuity = storyboard::Continuity::Cut;
  uint64_t seed = 0;
  double duration_s = 0;
  int64_t native_frames = 0;  // frames needed at the native fps
  std::vector<WindowPlan> windows;
  int64_t first_output_frame = 0;  // where the shot starts in the output
  int64_t output_frames = 0;       // its frames at the output fps, crossfades included
  int64_t crossfade_frames = 0;    // output frames shared with the previous shot (fading in)
  // Sampling steps this shot runs (per window, fewer for video-to-video).
  int64_t sampling_steps(const SamplingSettings& sampling) const;
};

struct RenderPlan {
  std::string model_name;
  media::Aspect aspect = media::Aspect::Wide;
  media::FrameSize native_size;
  double native_fps = 16;
  int64_t window_frames = 0;  // the model's native frame count
  media::FrameSize output_size;
  media::FrameRate output_fps;
  int64_t output_frames = 0;  // round(duration x fps)
  storyboard::QualityPreset quality = storyboard::QualityPreset::Final;
  SamplingSettings sampling;
  RenderOptions options;
  std::vector<ShotPlan> shots;

  double duration_s() const;
  int64_t window_count() const;
  int64_t total_sampling_steps() const;
  nlohmann::json to_json() const;
};

// The windows that produce `needed_frames` native frames with windows of at most
// `window_frames` (1 + 4k) frames sharing `overlap_frames` (1 + 4m, < window_frames): one window
// of the smallest 1 + 4k >= needed when it fits, otherwise full windows and a last one just long
// enough (the frames produced exceed `needed` by at most 3). Window i > 0 gets a seed derived
// from `seed` and i. Error(InvalidArgument) for counts that are not 1 + 4k or an overlap that
// does not fit.
std::vector<WindowPlan> plan_windows(int64_t needed_frames, int64_t window_frames,
                                     int64_t overlap_frames, uint64_t seed);

// Native frames a window list produces once the overlaps are merged.
int64_t frames_produced(const std::vector<WindowPlan>& windows);

// Native frames to generate so that `output_frames` frames at `output_fps` can be interpolated
// from them: the last output frame's position (output_frames - 1) x native / output, rounded up,
// plus one.
int64_t native_frames_for(int64_t output_frames, double native_fps, double output_fps);

// Sampling settings of a render: the manifest's defaults, halved steps for a draft, then the
// overrides. Error(InvalidArgument) for out-of-range overrides.
SamplingSettings resolve_sampling(const models::ModelManifest& model,
                                  storyboard::QualityPreset quality,
                                  const SamplingOverrides& overrides);

// The plan of `storyboard` (already validated) for `model`. Error(Unsupported) naming the shot
// when the model cannot do what a shot asks (a keyframe without image conditioning, a source
// clip without video-to-video, an aspect it has no native size for); Error(InvalidArgument) for
// bad options. Relative media paths are resolved against `base_dir`.
RenderPlan plan_render(const storyboard::Storyboard& storyboard,
                       const std::filesystem::path& base_dir, const models::ModelManifest& model,
                       const RenderOptions& options = {});

// Whether the model's DiT takes clean conditioning frames (Wan 2.2 TI2V-style per-token
// timesteps) and the manifest lists image-to-video: what keyframes need.
bool model_conditions_on_images(const models::ModelManifest& model);

}  // namespace reelforge::pipeline
