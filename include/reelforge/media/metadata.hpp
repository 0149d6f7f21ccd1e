#pragma once
// Container metadata ReelForge writes into its MP4 files and reads back from any file: what the
// clip is called, a free comment, when it was made, and the generation settings as JSON so a clip
// can be traced to (and re-rendered from) the settings that made it.

#include <chrono>
#include <optional>
#include <string>

namespace reelforge::media {

// The container tag holding ReelForge's JSON (an MP4 "mdta" key, hence movflags use_metadata_tags).
constexpr const char* kReelForgeTag = "reelforge";

struct VideoMetadata {
  std::string title;
  std::string comment;
  // Stored with one-second precision (MP4's mvhd creation time).
  std::optional<std::chrono::system_clock::time_point> creation_time;
  std::string reelforge_json;  // generation settings; empty = not written

  bool empty() const {
    return title.empty() && comment.empty() && !creation_time && reelforge_json.empty();
  }
};

// "2024-05-01T12:30:00.000000Z", the form FFmpeg writes and reads for creation_time.
std::string format_creation_time(std::chrono::system_clock::time_point time);
// Parses "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]" (UTC) or "YYYY-MM-DD HH:MM:SS"; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_creation_time(const std::string& text);

}  // namespace reelforge::media
