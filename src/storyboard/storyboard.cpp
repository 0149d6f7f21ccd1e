#include "reelforge/storyboard/storyboard.hpp"

#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"

namespace reelforge::storyboard {
namespace {

bool same_double(double a, double b) {
  return a == b || (a != a && b != b);
}  // NaN equals NaN

}  // namespace

std::vector<ShotTiming> Storyboard::timeline() const {
  std::vector<ShotTiming> result;
  result.reserve(shots.size());
  double end_s = 0;
  for (size_t i = 0; i < shots.size(); ++i) {
    const Shot& shot = shots[i];
    double start_s = end_s;
    if (i > 0 && shot.transition.kind == TransitionKind::Crossfade) {
      start_s -= shot.transition.duration_s;
    }
    end_s = start_s + shot.duration_s;
    result.push_back({start_s, end_s});
  }
  return result;
}

double Storyboard::total_duration_s() const {
  const auto t = timeline();
  return t.empty() ? 0.0 : t.back().end_s;
}

uint64_t derive_shot_seed(uint64_t project_seed, std::string_view shot_id) {
  return splitmix64(project_seed ^ fnv1a64(shot_id));
}

uint64_t Storyboard::effective_seed(const Shot& shot) const {
  return shot.seed ? *shot.seed : derive_shot_seed(project.seed, shot.id);
}

bool operator==(const Keyframe& a, const Keyframe& b) {
  return a.path == b.path && a.at == b.at;
}
bool operator==(const SourceVideo& a, const SourceVideo& b) {
  return a.path == b.path && same_double(a.strength, b.strength);
}
bool operator==(const Transition& a, const Transition& b) {
  return a.kind == b.kind && same_double(a.duration_s, b.duration_s);
}
bool operator==(const ProjectSettings& a, const ProjectSettings& b) {
  return a.aspect == b.aspect && a.resolution == b.resolution && same_double(a.fps, b.fps) &&
         a.model == b.model && a.seed == b.seed && a.quality == b.quality;
}
bool operator==(const Shot& a, const Shot& b) {
  return a.id == b.id && a.prompt == b.prompt && a.negative_prompt == b.negative_prompt &&
         same_double(a.duration_s, b.duration_s) && a.keyframe == b.keyframe &&
         a.source_video == b.source_video && a.transition == b.transition && a.continuity == b.continuity &&
         a.seed == b.seed;
}
bool operator==(const Storyboard& a, const Storyboard& b) {
  return a.title == b.title && a.project == b.project && a.shots == b.shots;
}

const char* to_string(KeyframeAt at) {
  return at == KeyframeAt::Last ? "last" : "first";
}
const char* to_string(TransitionKind kind) {
  return kind == TransitionKind::Crossfade ? "crossfade" : "cut";
}
const char* to_string(QualityPreset quality) {
  return quality == QualityPreset::Final ? "final" : "draft";
}

const char* to_string(Continuity continuity) {
  return continuity == Continuity::Continue ? "continue" : "cut";
}

KeyframeAt parse_keyframe_at(std::string_view text) {
  if (text == "first") return KeyframeAt::First;
  if (text == "last") return KeyframeAt::Last;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown keyframe position '" + std::string(text) + "'; valid: first, last");
}

TransitionKind parse_transition_kind(std::string_view text) {
  if (text == "cut") return TransitionKind::Cut;
  if (text == "crossfade") return TransitionKind::Crossfade;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown transition '" + std::string(text) + "'; valid: cut, crossfade");
}

QualityPreset parse_quality_preset(std::string_view text) {
  if (text == "draft") return QualityPreset::Draft;
  if (text == "final") return QualityPreset::Final;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown quality preset '" + std::string(text) + "'; valid: draft, final");
}

Continuity parse_continuity(std::string_view text) {
  if (text == "cut") return Continuity::Cut;
  if (text == "continue") return Continuity::Continue;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown continuity '" + std::string(text) + "'; valid: cut, continue");
}

}  // namespace reelforge::storyboard
