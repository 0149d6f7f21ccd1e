#pragma once
// Output presets: three aspects (wide 16:9, vertical 9:16, square 1:1) at three resolutions
// (480p, 720p, 1080p). The resolution names the short side, as video sites do.

#include <string>
#include <string_view>

namespace reelforge::media {

enum class Aspect { Wide, Vertical, Square };
enum class Resolution { P480, P720, P1080 };

struct FrameSize {
  int width_px = 0;
  int height_px = 0;
  bool operator==(const FrameSize& o) const {
    return width_px == o.width_px && height_px == o.height_px;
  }
  bool operator!=(const FrameSize& o) const { return !(*this == o); }
};

// 1080p: 1920x1080, 1080x1920, 1080x1080; 720p: 1280x720, 720x1280, 720x720;
// 480p: 854x480, 480x854, 480x480 (even sizes, as yuv420p needs).
FrameSize preset_size(Aspect aspect, Resolution resolution);

// "16:9" | "wide", "9:16" | "vertical", "1:1" | "square"; Error(InvalidArgument) otherwise.
Aspect parse_aspect(std::string_view text);
// "480p" | "720p" | "1080p"; Error(InvalidArgument) otherwise.
Resolution parse_resolution(std::string_view text);
const char* to_string(Aspect aspect);          // "16:9", "9:16", "1:1"
const char* aspect_name(Aspect aspect);        // "wide", "vertical", "square"
const char* to_string(Resolution resolution);  // "480p", "720p", "1080p"

constexpr double kMinFps = 8.0;
constexpr double kMaxFps = 60.0;

}  // namespace reelforge::media
