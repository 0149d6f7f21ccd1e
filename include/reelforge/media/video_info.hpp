#pragma once
// What a probe learns about a media file without decoding all of it.

#include <filesystem>
#include <map>
#include <string>

#include "reelforge/media/metadata.hpp"

namespace reelforge::media {

struct VideoInfo {
  double duration_s = 0;
  double fps = 0;             // average frame rate (frames / duration for variable-rate files)
  long long frame_count = 0;  // from the container when it says, else estimated from duration x fps
  bool frame_count_exact = false;
  int width_px = 0;  // as displayed, i.e. after rotation
  int height_px = 0;
  int coded_width_px = 0;  // as stored
  int coded_height_px = 0;
  int rotation_deg = 0;  // 0, 90, 180 or 270 clockwise, from the display matrix
  bool variable_frame_rate = false;
  std::string codec;            // e.g. "h264"
  std::string container;        // e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string pixel_format;     // e.g. "yuv420p"
  bool is_still_image = false;  // a single still (PNG, JPEG, ...) rather than a video
  // Title, comment, creation time and ReelForge's JSON when the file has them.
  VideoMetadata metadata;
  // Every container-level tag as FFmpeg reports it (includes the ones above).
  std::map<std::string, std::string> tags;
};

// Reads a video's (or still image's) properties. Error(NotFound) when missing, Error(Format)
// when FFmpeg cannot read it, it has no video stream, or it is truncated.
// The frame count and the variable-rate flag come from the packet timestamps (demuxed, not
// decoded), so they are exact for the short clips ReelForge makes. For stills, width and height
// are as displayed after EXIF orientation; rotation_deg stays 0.
VideoInfo probe(const std::filesystem::path& path);

}  // namespace reelforge::media
