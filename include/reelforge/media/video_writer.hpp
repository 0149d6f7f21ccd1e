#pragma once
// Encodes RGB frames into an H.264 MP4 (libx264, yuv420p, BT.709) through libavcodec and
// libavformat, one frame at a time, so a long render never holds the whole clip in memory.
// The file appears under its final name only after finish(): until then it is a hidden temporary
// beside it, removed on error, on cancellation, or when the writer is destroyed unfinished.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/metadata.hpp"
#include "reelforge/media/presets.hpp"

namespace reelforge::media {

// Visually lossless for generated content (x264's own default is 23).
constexpr int kDefaultCrf = 20;
constexpr const char* kDefaultEncoderPreset = "medium";

struct VideoWriterOptions {
  FrameSize size;         // even width and height (yuv420p halves the chroma planes)
  FrameRate fps{24, 1};   // kMinFps..kMaxFps
  int crf = kDefaultCrf;  // 0 (lossless) .. 51; mapped to a quantiser for MPEG-4
  std::string preset = kDefaultEncoderPreset;  // x264 preset: ultrafast .. placebo
  std::vector<std::string> encoders;           // preference order; empty = default_encoder_order()
  int threads = 0;  // encoder threads; 0 = the encoder's own automatic choice
  VideoMetadata metadata;
  int64_t expected_frames = 0;  // total reported to `progress`; 0 when unknown
  ProgressCallback progress;    // called after each frame ("encode") and at the end
  CancellationToken cancel;     // checked before each frame
};

// libx264, then FFmpeg's built-in MPEG-4 part 2 encoder (lower quality per bit, always present).
std::vector<std::string> default_encoder_order();
// The x264 presets, fastest first.
const std::vector<std::string>& encoder_presets();

// The first encoder of `preference` this FFmpeg build has, logging a warning when that is not the
// first one asked for. Error(Unsupported) listing them when it has none.
std::string choose_encoder(const std::vector<std::string>& preference);

class VideoWriter {
 public:
  // Opens the encoder and the muxer (the container follows the extension: .mp4, .mov, .mkv ...).
  // Error(InvalidArgument) for bad options, Error(NotFound) for a missing folder, Error(Io) when
  // the temporary cannot be created, Error(Unsupported) when no encoder is available.
  VideoWriter(const std::filesystem::path& path, VideoWriterOptions options);
  ~VideoWriter();  // without finish(): discards the temporary
  VideoWriter(VideoWriter&&) noexcept;
  VideoWriter& operator=(VideoWriter&&) noexcept;

  // Encodes one CV_8UC3 RGB frame of exactly options.size. A frame of the wrong size or type is
  // Error(InvalidArgument) naming expected and got, and leaves the writer usable; any other
  // failure, or cancellation (Error(Cancelled)), discards the output and the writer.
  void write(const cv::Mat& rgb);
  // Flushes the encoder, writes the index (moved to the front: +faststart) and renames the
  // temporary onto the final name. Error(InvalidArgument) when no frame was written.
  void finish();
  // Drops everything written so far; nothing is left on disk. Also done by the destructor.
  void discard() noexcept;

  int64_t frames_written() const;
  const std::string& encoder() const;  // e.g. "libx264"
  const std::filesystem::path& path() const;
  bool finished() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelforge::media
