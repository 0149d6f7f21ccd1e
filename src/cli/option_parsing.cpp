#include "option_parsing.hpp"

#include <algorithm>

#include "reelforge/media/presets.hpp"
#include "reelforge/media/video_writer.hpp"

namespace reelforge::cli {

media::FrameRate parse_fps_option(const char* option, const std::string& text) {
  const media::FrameRate fps = named(option, [&] { return media::FrameRate::parse(text); });
  if (fps.value() < media::kMinFps - 1e-9 || fps.value() > media::kMaxFps + 1e-9) {
    throw Error(ErrorCategory::InvalidArgument,
                std::string(option) + " " + text + " is out of range; valid: 8 to 60");
  }
  return fps;
}

std::string parse_encoder_preset_option(const char* option, const std::string& text) {
  const auto& presets = media::encoder_presets();
  if (std::find(presets.begin(), presets.end(), text) == presets.end()) {
    std::string valid;
    for (const auto& p : presets) valid += (valid.empty() ? "" : ", ") + p;
    throw Error(ErrorCategory::InvalidArgument,
                std::string(option) + ": unknown preset '" + text + "'; valid: " + valid);
  }
  return text;
}

}  // namespace reelforge::cli
