#pragma once
// The storyboard document: project settings and an ordered list of shots, each with its prompt,
// length, optional keyframe image or source video, and the transition that leads into it. This is
// the in-memory model; reading, writing and checking it live in io.hpp and validation.hpp.
// docs/storyboard-format.md describes the JSON form.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reelforge/media/presets.hpp"

namespace reelforge::storyboard {

inline constexpr const char* kFormatName = "reelforge.storyboard";
inline constexpr int kFormatVersion = 1;  // the version this build reads and writes
inline constexpr double kMaxTotalDuration_s = 20.0;
// No valid storyboard has more: shots last at least one frame at 60 fps, and crossfades can at
// most halve the sum of their lengths, so 20 s holds at most 2 x 20 x 60 shots.
inline constexpr size_t kMaxShots = 2400;

enum class KeyframeAt { First, Last };
enum class TransitionKind { Cut, Crossfade };
enum class QualityPreset { Draft, Final };
// How a shot's first frame relates to the previous shot: a fresh start (Cut, the default), or
// generated onward from the previous shot's last frame so motion and look carry over (Continue).
enum class Continuity { Cut, Continue };

struct ProjectSettings {
  media::Aspect aspect = media::Aspect::Wide;
  media::Resolution resolution = media::Resolution::P720;
  double fps = 24;
  std::string model = "builtin";
  // Every generated shot derives its noise from this, so a storyboard renders the same twice.
  uint64_t seed = 0;
  QualityPreset quality = QualityPreset::Draft;
};

// A still that the shot starts from (image-to-video) or ends on.
struct Keyframe {
  std::string path;  // as written in the document: relative to its folder, or absolute
  KeyframeAt at = KeyframeAt::First;
};

// A clip the shot is generated from (video-to-video).
struct SourceVideo {
  std::string path;  // as written in the document: relative to its folder, or absolute
  // How far the result may depart from the source: 0 keeps it, 1 ignores it.
  double strength = 0.6;
};

// How a shot begins. A crossfade overlaps the end of the previous shot by duration_s.
struct Transition {
  TransitionKind kind = TransitionKind::Cut;
  double duration_s = 0;  // crossfade only; 0 for a cut
};

struct Shot {
  std::string id;  // unique within the storyboard; names the shot's render segment
  std::string prompt;
  std::string negative_prompt;
  double duration_s = 5;
  std::optional<Keyframe> keyframe;
  std::optional<SourceVideo> source_video;
  Transition transition;
  Continuity continuity = Continuity::Cut;  // Continue: start from the previous shot's last frame
  std::optional<uint64_t> seed;  // overrides the seed derived from the project's
};

// Where a shot sits on the finished video's timeline (crossfades overlap neighbours).
struct ShotTiming {
  double start_s = 0;
  double end_s = 0;
};

struct Storyboard {
  std::string title;
  ProjectSettings project;
  std::vector<Shot> shots;

  // One entry per shot: shot i starts where shot i-1 ends, minus the crossfade into shot i.
  std::vector<ShotTiming> timeline() const;
  // The length of the finished video: the end of the last shot (0 without shots).
  double total_duration_s() const;
  // The shot's own seed, or one derived from the project seed and the shot's id, so that
  // reordering or inserting shots does not change the look of the others.
  uint64_t effective_seed(const Shot& shot) const;
};

bool operator==(const Keyframe& a, const Keyframe& b);
bool operator==(const SourceVideo& a, const SourceVideo& b);
bool operator==(const Transition& a, const Transition& b);
bool operator==(const ProjectSettings& a, const ProjectSettings& b);
bool operator==(const Shot& a, const Shot& b);
bool operator==(const Storyboard& a, const Storyboard& b);
inline bool operator!=(const Storyboard& a, const Storyboard& b) {
  return !(a == b);
}

// The seed of a shot without its own: a hash of (project seed, shot id).
uint64_t derive_shot_seed(uint64_t project_seed, std::string_view shot_id);

const char* to_string(KeyframeAt at);          // "first", "last"
const char* to_string(TransitionKind kind);    // "cut", "crossfade"
const char* to_string(QualityPreset quality);  // "draft", "final"
const char* to_string(Continuity continuity);  // "cut", "continue"
// Error(InvalidArgument) naming the valid values for anything else.
KeyframeAt parse_keyframe_at(std::string_view text);
TransitionKind parse_transition_kind(std::string_view text);
QualityPreset parse_quality_preset(std::string_view text);
Continuity parse_continuity(std::string_view text);

}  // namespace reelforge::storyboard
