#include "reelforge/media/presets.hpp"

#include "reelforge/core/error.hpp"

namespace reelforge::media {

FrameSize preset_size(Aspect aspect, Resolution resolution) {
  int short_side = 1080, long_side = 1920;
  switch (resolution) {
    case Resolution::P480:
      short_side = 480;
      long_side = 854;
      break;
    case Resolution::P720:
      short_side = 720;
      long_side = 1280;
      break;
    case Resolution::P1080:
      short_side = 1080;
      long_side = 1920;
      break;
  }
  switch (aspect) {
    case Aspect::Wide:
      return {long_side, short_side};
    case Aspect::Vertical:
      return {short_side, long_side};
    case Aspect::Square:
      return {short_side, short_side};
  }
  return {long_side, short_side};
}

Aspect parse_aspect(std::string_view text) {
  if (text == "16:9" || text == "wide") return Aspect::Wide;
  if (text == "9:16" || text == "vertical") return Aspect::Vertical;
  if (text == "1:1" || text == "square") return Aspect::Square;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown aspect '" + std::string(text) +
                  "'; valid: 16:9 (wide), 9:16 (vertical), 1:1 (square)");
}

Resolution parse_resolution(std::string_view text) {
  if (text == "480p") return Resolution::P480;
  if (text == "720p") return Resolution::P720;
  if (text == "1080p") return Resolution::P1080;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown resolution '" + std::string(text) + "'; valid: 480p, 720p, 1080p");
}

const char* to_string(Aspect aspect) {
  switch (aspect) {
    case Aspect::Wide:
      return "16:9";
    case Aspect::Vertical:
      return "9:16";
    case Aspect::Square:
      return "1:1";
  }
  return "?";
}

const char* aspect_name(Aspect aspect) {
  switch (aspect) {
    case Aspect::Wide:
      return "wide";
    case Aspect::Vertical:
      return "vertical";
    case Aspect::Square:
      return "square";
  }
  return "?";
}

const char* to_string(Resolution resolution) {
  switch (resolution) {
    case Resolution::P480:
      return "480p";
    case Resolution::P720:
      return "720p";
    case Resolution::P1080:
      return "1080p";
  }
  return "?";
}

}  // namespace reelforge::media
