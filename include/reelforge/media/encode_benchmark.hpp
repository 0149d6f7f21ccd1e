#pragma once
// Measures VideoWriter's encoding throughput against the `ffmpeg` program encoding the same raw
// frames with the same codec settings, in the same run, so the ratio is free of machine noise
// between runs. Both sides read the frames from the same raw rgb24 file.

#include <cstdint>
#include <filesystem>
#include <string>

#include "reelforge/core/cancel.hpp"
#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/media/video_writer.hpp"

namespace reelforge::media {

struct EncodeBenchmarkOptions {
  int frames = 120;
  FrameSize size{1920, 1080};
  FrameRate fps{24, 1};
  std::string preset = kDefaultEncoderPreset;
  int crf = kDefaultCrf;
  int rounds = 1;  // each side runs this many times; the best time counts
  std::string ffmpeg_program = "ffmpeg";
  std::filesystem::path work_dir;  // empty: a fresh folder under the system temp dir
};

struct EncodeSide {
  double seconds = 0;  // best wall time of the encode (frames in, file complete)
  double fps = 0;      // frames / seconds
  int64_t bytes = 0;   // output file size
};

struct EncodeBenchmarkResult {
  int frames = 0;
  FrameSize size;
  std::string encoder;  // what VideoWriter used
  EncodeSide ours;
  EncodeSide ffmpeg;           // timed by ffmpeg's own -benchmark (excludes process start-up)
  double ratio = 0;            // ours.fps / ffmpeg.fps
  std::string ffmpeg_command;  // for the record
};

// Error(NotFound) when the ffmpeg program is missing, Error(Cancelled) on cancellation.
EncodeBenchmarkResult run_encode_benchmark(const EncodeBenchmarkOptions& options,
                                           const ProgressCallback& progress = {},
                                           const CancellationToken& cancel = {});

}  // namespace reelforge::media
