#pragma once
// Helpers shared by the Studio's Qt tests.

#include <QString>
#include <string>

#include "reelforge/core/paths.hpp"
#include "reelforge/storyboard/storyboard.hpp"

// A file under the source tree's assets/ (e.g. "media/builtin-keyframe.png").
inline QString assetPath(const std::string& relative) {
  return QString::fromStdString((reelforge::resource_root() / "assets" / relative).string());
}

inline reelforge::storyboard::Shot makeShot(const std::string& id, double duration,
                                            const std::string& prompt = "a shot") {
  reelforge::storyboard::Shot shot;
  shot.id = id;
  shot.prompt = prompt;
  shot.duration_s = duration;
  return shot;
}
