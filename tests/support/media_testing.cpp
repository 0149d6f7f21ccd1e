#include "support/media_testing.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/core.hpp>

#include "support/testing.hpp"

namespace fs = std::filesystem;

namespace reelforge::testing {

cv::Mat index_frame(int index, int width_px, int height_px) {
  cv::Mat frame(height_px, width_px, CV_8UC3, cv::Scalar::all(0));
  const int block = width_px / 8;
  for (int bit = 0; bit < 8; ++bit) {
    if ((index >> bit) & 1) {
      frame(cv::Rect(bit * block, 0, block, height_px)).setTo(cv::Scalar::all(255));
    }
  }
  return frame;
}

int frame_index(const cv::Mat& rgb) {
  const int block = rgb.cols / 8;
  int index = 0;
  for (int bit = 0; bit < 8; ++bit) {
    // The block's middle, away from edges that compression smears.
    const cv::Rect inner(bit * block + block / 4, rgb.rows / 4, block / 2, rgb.rows / 2);
    if (cv::mean(rgb(inner))[0] > 128) index |= 1 << bit;
  }
  return index;
}

void write_clip(const fs::path& path, const media::VideoWriterOptions& options, int count,
                const std::function<cv::Mat(int)>& make) {
  media::VideoWriter writer(path, options);
  for (int i = 0; i < count; ++i) writer.write(make(i));
  writer.finish();
}

std::vector<cv::Mat> read_all(const fs::path& path, const media::VideoReaderOptions& options) {
  media::VideoReader reader(path, options);
  std::vector<cv::Mat> frames;
  cv::Mat frame;
  while (reader.read(frame)) frames.push_back(frame.clone());
  return frames;
}

std::vector<cv::Mat> ffmpeg_decode(const fs::path& path, int width_px, int height_px) {
  TempDir dir;
  const fs::path raw = dir / "decoded.rgb";
  if (!run_ffmpeg({"-i", path.string(), "-f", "rawvideo", "-pix_fmt", "rgb24", raw.string()}))
    return {};
  std::ifstream in(raw, std::ios::binary);
  std::vector<cv::Mat> frames;
  while (true) {
    cv::Mat frame(height_px, width_px, CV_8UC3);
    in.read(reinterpret_cast<char*>(frame.data), std::streamsize(frame.total() * 3));
    if (!in) break;
    frames.push_back(frame);
  }
  return frames;
}

std::vector<std::string> folder_entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

void write_raw_rgb(const fs::path& path, const std::vector<cv::Mat>& frames) {
  std::ofstream out(path, std::ios::binary);
  for (const cv::Mat& f : frames) {
    const cv::Mat c = f.isContinuous() ? f : f.clone();
    out.write(reinterpret_cast<const char*>(c.data), std::streamsize(c.total() * 3));
  }
}

}  // namespace reelforge::testing
