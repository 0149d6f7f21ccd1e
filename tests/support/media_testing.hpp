#pragma once
// Helpers for the media tests: frames that carry their own index (so resampling tests can see
// which source frame was chosen), clips written and read back through the public API, and
// reference decodes made by the ffmpeg program.

#include <filesystem>
#include <functional>

#include <gtest/gtest.h>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/media/video_writer.hpp"

namespace reelforge::testing {

// A frame showing `index` as 8 black/white blocks (bit 0 leftmost): survives any compression.
cv::Mat index_frame(int index, int width_px = 128, int height_px = 32);
// Reads the index back from such a frame (after decoding, resizing is not supported).
int frame_index(const cv::Mat& rgb);

// Writes `count` frames made by `make(i)` with `options` (size and fps must be set).
void write_clip(const std::filesystem::path& path, const media::VideoWriterOptions& options,
                int count, const std::function<cv::Mat(int)>& make);

// Every frame read through VideoReader with `options`.
std::vector<cv::Mat> read_all(const std::filesystem::path& path,
                              const media::VideoReaderOptions& options = {});

// The ffmpeg program's decode of `path` (autorotated) as RGB frames of `width` x `height`.
std::vector<cv::Mat> ffmpeg_decode(const std::filesystem::path& path, int width_px, int height_px);

// Names of the entries of a folder (hidden ones included).
std::vector<std::string> folder_entries(const std::filesystem::path& dir);

// Runs `f` and adds a failure naming `what` unless it throws Error(InvalidArgument).
template <typename F>
void expect_invalid_argument(F&& f, const char* what) {
  try {
    f();
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << what << ": " << e.what();
  }
}

// Raw rgb24 frames written to a file, for feeding the ffmpeg program.
void write_raw_rgb(const std::filesystem::path& path, const std::vector<cv::Mat>& frames);

}  // namespace reelforge::testing
