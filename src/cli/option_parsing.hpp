#pragma once
// Parsing of option values shared by several commands, with errors that name the option.

#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/media/frame_rate.hpp"

namespace reelforge::cli {

// Runs `parse` and prefixes its InvalidArgument with the option's name.
template <typename F>
auto named(const char* option, F&& parse) {
  try {
    return parse();
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::InvalidArgument) throw;
    throw Error(ErrorCategory::InvalidArgument, std::string(option) + ": " + e.message());
  }
}

// An output frame rate ("24", "23.976", "24000/1001") within media::kMinFps..kMaxFps.
media::FrameRate parse_fps_option(const char* option, const std::string& text);

// One of media::encoder_presets(); Error(InvalidArgument) listing them otherwise.
std::string parse_encoder_preset_option(const char* option, const std::string& text);

}  // namespace reelforge::cli
