#pragma once
// Automatic evaluation of a video model on the procedural world's held-out split (issue 7): the
// model generates clips from canonical captions of attribute combinations it never saw in
// training, through the same runtime and sampler as `reelforge generate`, and the world's scorer
// (dataset/score.hpp) reads each clip back. The result says, per attribute, how often the model
// drew what it was asked for, so a training run can be judged without anyone watching clips.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>

#include "reelforge/core/cancel.hpp"
#include "reelforge/dataset/score.hpp"
#include "reelforge/dataset/world.hpp"

namespace reelforge::pipeline {
class ModelRuntime;
}

namespace reelforge::training {

// A clip counts as stable when its main object is one region of plausible size in at least this
// fraction of frames: objects that flicker, split or melt are what an untrained model makes.
inline constexpr double kStableFraction = 0.9;
// The goals the built-in model is trained towards (issue 7).
inline constexpr double kAttributeGoal = 0.8;
inline constexpr double kAllCorrectGoal = 0.6;

enum class Attribute { Background, Color, Shape, Size, Motion, Stability };
inline constexpr int kAttributeCount = 6;
const char* to_string(Attribute attribute);  // "background", "color", ..., "stability"
const std::array<Attribute, kAttributeCount>& all_attributes();

// Which attributes of one clip were read back as prompted.
struct AttributeCheck {
  std::array<bool, kAttributeCount> correct{};

  bool operator[](Attribute a) const { return correct[static_cast<size_t>(a)]; }
  bool all_correct() const;
};

// Scores what the reader saw against the main object of `expected`. Stability is right when
// reading.stability >= kStableFraction. A reading without an object (`!found`) is wrong on every
// attribute, the background included: the model failed to draw the scene it was asked for.
// Error(InvalidArgument) for a spec without objects.
AttributeCheck score_reading(const dataset::ClipSpec& expected,
                             const dataset::ClipReading& reading);

struct EvalOptions {
  int clips = 48;      // text-to-video clips
  int i2v_clips = 16;  // image-to-video clips (only for models that condition on images)
  uint64_t seed = 2026;
  std::optional<int> steps;        // nullopt: the manifest's default
  std::optional<double> guidance;  // nullopt: the manifest's default
  // Instead of generating, pass the world's own render of each spec through the model's VAE
  // (encode, decode) and score that: the ceiling the VAE sets on every figure, since a perfect
  // DiT can do no better than the VAE draws. No text encoder or DiT runs.
  bool vae_round_trip = false;
  // Instead of starting from noise, video-to-video from the world's own render of each spec,
  // noised to this strength (0 keeps the render: the VAE round trip; 1 starts from almost pure
  // noise): how much noise the model can take before it loses what it was given, per attribute.
  // Error(InvalidArgument) outside [0, 1] or together with vae_round_trip.
  std::optional<double> source_strength;
  // Which attribute combinations the prompts come from. HeldOut (never seen in training) is what
  // the goals are about; Train (combinations the model was trained on) beside it separates "cannot
  // draw it" from "cannot combine it".
  dataset::Split split = dataset::Split::HeldOut;
  // With Split::Train, the training world the prompts come from: a narrower mix (a curriculum's
  // rung) asks for what that rung trains on. Held-out prompts are the world's own mix whatever
  // this is; Error(InvalidArgument) for another mix with Split::HeldOut.
  dataset::WorldMix mix;
};

enum class EvalMode { TextToVideo, ImageToVideo };
const char* to_string(EvalMode mode);  // "t2v", "i2v"

struct EvalClip {
  EvalMode mode = EvalMode::TextToVideo;
  int index = 0;  // within its mode
  std::string prompt;
  std::string bucket;  // the manifest's native size name: "wide", "vertical", "square"
  int width_px = 0;
  int height_px = 0;
  uint64_t seed = 0;  // the window's noise seed
  dataset::ClipSpec expected;
  dataset::ClipReading read;
  AttributeCheck check;
  // Image-to-video only: what frame 0 of the generated clip shows, whether its object has the
  // keyframe's colour and shape, and whether the clip moves as the prompt says.
  std::optional<dataset::ClipReading> first_frame;
  bool keyframe_kept = false;
  bool moves_as_prompted = false;
  double seconds = 0;
};

struct Tally {
  int correct = 0;
  int total = 0;
  double rate() const { return total > 0 ? static_cast<double>(correct) / total : 0.0; }
};

struct EvalReport {
  std::string model;  // the manifest's name
  int steps = 0;      // the sampling settings used
  double guidance = 0;
  uint64_t seed = 0;
  bool vae_round_trip = false;  // the clips are VAE round trips of renders, not generations
  std::optional<double> source_strength;           // the clips are video-to-video from renders
  dataset::Split split = dataset::Split::HeldOut;  // where the prompts' combinations come from
  dataset::WorldMix mix;                           // ... and from which training world
  // Text-to-video clips only: the held-out generalisation figures.
  std::array<Tally, kAttributeCount> attributes{};
  Tally all_correct;
  // Image-to-video clips (total 0 when the model cannot condition on images).
  Tally keyframe_kept;
  Tally moves_as_prompted;
  std::vector<EvalClip> clips;  // t2v first, then i2v
  double seconds = 0;

  const Tally& attribute(Attribute a) const { return attributes[static_cast<size_t>(a)]; }
};

// Called after each clip with its row and its decoded frames (CV_8UC3 RGB at the native size),
// e.g. to save them.
using EvalClipCallback = std::function<void(const EvalClip& clip, const std::vector<cv::Mat>&)>;

// Generates and scores the clips of `options`:
//  - text-to-video: specs of options.split (one object each) sampled with a seeded rng, prompt
//    canonical_caption(spec), aspect buckets in turn over the manifest's native sizes, one window
//    of the manifest's frame_count at the native size, the manifest's sampling defaults unless
//    overridden;
//  - image-to-video (runtime.conditions_on_images() only): the spec's first frame rendered by the
//    world, encoded and written clean into latent frame 0 (ConditioningMethod::CleanTokens), same
//    kind of prompt.
// With options.vae_round_trip the same specs are rendered and round-tripped through the VAE
// instead (both modes), one progress step per clip; with options.source_strength each sample
// starts from the spec's render noised to that strength (both modes).
// Progress: stage "eval", one step per sampling step of every clip. Error(Cancelled) when the
// token fires; Error(InvalidArgument) for negative clip counts or bad overrides.
EvalReport evaluate_model(pipeline::ModelRuntime& runtime, const EvalOptions& options,
                          const ProgressCallback& progress = {},
                          const CancellationToken* cancel = nullptr,
                          const EvalClipCallback& on_clip = {});

// How often the text-to-video clips of a report were read as something else than asked, per
// attribute (stability excluded: it is a threshold, not a class): "star" read as "square" 11
// times. A clip whose object was not found counts once per attribute as read "nothing". Sorted
// by attribute (all_attributes() order), then most frequent first, then by name.
struct Misreading {
  Attribute attribute = Attribute::Shape;
  std::string expected;
  std::string read;
  int count = 0;
};
std::vector<Misreading> misreadings(const EvalReport& report);

// A table: attribute, correct/total, %, goal and met / not met; the misreadings, attribute by
// attribute; then the i2v figures.
std::string format_report(const EvalReport& report);
nlohmann::json to_json(const EvalReport& report);

}  // namespace reelforge::training
