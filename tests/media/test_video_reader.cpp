// VideoReader and probe(): resampling (CFR and VFR), rotation, stills, trimming, bad files.

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/synthetic.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/media/video_writer.hpp"
#include "support/media_testing.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace reelforge;
using namespace reelforge::media;
namespace rft = reelforge::testing;
using reelforge::testing::TempDir;

namespace {

// `count` index frames at `fps`, losslessly, so every decoded frame names its source.
fs::path indexed_clip(const TempDir& dir, const std::string& name, FrameRate fps, int count) {
  VideoWriterOptions o;
  o.size = {128, 32};
  o.fps = fps;
  o.crf = 0;
  o.preset = "ultrafast";
  const fs::path path = dir / name;
  rft::write_clip(path, o, count, [](int i) { return rft::index_frame(i); });
  return path;
}

std::vector<int> indices(const std::vector<cv::Mat>& frames) {
  std::vector<int> out;
  for (const auto& f : frames) out.push_back(rft::frame_index(f));
  return out;
}

void expect_error(ErrorCategory category, const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << e.what();
  }
}

}  // namespace

TEST(MediaReader, ProbesAnFfmpegClip) {
  TempDir dir;
  ASSERT_TRUE(
      rft::run_ffmpeg({"-f", "lavfi", "-i", "testsrc=size=160x120:rate=30", "-frames:v", "60",
                       "-c:v", "libx264", "-preset", "ultrafast", (dir / "t.mp4").string()}));
  const VideoInfo info = probe(dir / "t.mp4");
  EXPECT_EQ(info.width_px, 160);
  EXPECT_EQ(info.height_px, 120);
  EXPECT_DOUBLE_EQ(info.fps, 30.0);
  EXPECT_EQ(info.frame_count, 60);
  EXPECT_TRUE(info.frame_count_exact);
  EXPECT_NEAR(info.duration_s, 2.0, 1e-6);
  EXPECT_FALSE(info.variable_frame_rate);
  EXPECT_FALSE(info.is_still_image);
  EXPECT_EQ(info.rotation_deg, 0);
  EXPECT_EQ(rft::read_all(dir / "t.mp4").size(), 60u);
}

TEST(MediaReader, EveryFrameWithoutResampling) {
  TempDir dir;
  const fs::path path = indexed_clip(dir, "i.mp4", {30, 1}, 12);
  VideoReader reader(path);
  cv::Mat frame;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(reader.read(frame));
    EXPECT_EQ(rft::frame_index(frame), i);
    EXPECT_NEAR(reader.timestamp_s(), i / 30.0, 1e-6);
  }
  EXPECT_FALSE(reader.read(frame));
  EXPECT_FALSE(reader.read(frame));  // stays at the end
}

TEST(MediaReader, Resamples30To24) {
  TempDir dir;
  const fs::path path = indexed_clip(dir, "30.mp4", {30, 1}, 30);  // 1 s
  VideoReaderOptions o;
  o.fps = FrameRate{24, 1};
  VideoReader reader(path, o);
  EXPECT_EQ(reader.expected_frames(), 24);
  const auto got = indices(rft::read_all(path, o));
  std::vector<int> want;
  for (int i = 0; i < 24; ++i) want.push_back(i * 30 / 24);  // latest source frame at i/24 s
  EXPECT_EQ(got, want);
}

TEST(MediaReader, Resamples24To60) {
  TempDir dir;
  const fs::path path = indexed_clip(dir, "24.mp4", {24, 1}, 24);
  VideoReaderOptions o;
  o.fps = FrameRate{60, 1};
  const auto got = indices(rft::read_all(path, o));
  std::vector<int> want;
  for (int i = 0; i < 60; ++i) want.push_back(i * 24 / 60);
  EXPECT_EQ(got, want);
}

TEST(MediaReader, ResamplesNtscExactly) {
  TempDir dir;
  // 29.97 -> 23.976 over 2 s: ratio 4:5 exactly, so no drift may creep in.
  const fs::path path = indexed_clip(dir, "ntsc.mp4", {30000, 1001}, 60);
  VideoReaderOptions o;
  o.fps = FrameRate{24000, 1001};
  const auto got = indices(rft::read_all(path, o));
  ASSERT_EQ(got.size(), 48u);
  for (int i = 0; i < 48; ++i) EXPECT_EQ(got[size_t(i)], i * 5 / 4) << "output frame " << i;
}

TEST(MediaReader, VariableFrameRateUsesTimestamps) {
  TempDir dir;
  // Eight frames at uneven times (ms): a phone clip that stalls and catches up. Input at
  // 1000 fps so setpts counts in milliseconds and the encoder keeps a 1/1000 time base.
  const std::vector<int> times_ms = {0, 100, 150, 400, 450, 500, 900, 1000};
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 8; ++i) frames.push_back(rft::index_frame(i));
  rft::write_raw_rgb(dir / "raw.rgb", frames);
  std::string expr = "0";
  for (int i = int(times_ms.size()) - 1; i >= 0; --i) {
    expr = "if(eq(N," + std::to_string(i) + ")," + std::to_string(times_ms[size_t(i)]) + "," +
           expr + ")";
  }
  const fs::path path = dir / "vfr.mp4";
  ASSERT_TRUE(rft::run_ffmpeg({"-f",         "rawvideo",
                               "-pix_fmt",   "rgb24",
                               "-s",         "128x32",
                               "-r",         "1000",
                               "-i",         (dir / "raw.rgb").string(),
                               "-vf",        "setpts='" + expr + "'",
                               "-fps_mode",  "vfr",
                               "-c:v",       "libx264",
                               "-preset",    "ultrafast",
                               "-qp",        "0",
                               path.string()}));
  const VideoInfo info = probe(path);
  EXPECT_TRUE(info.variable_frame_rate);
  EXPECT_EQ(info.frame_count, 8);

  // Without resampling: every frame, at its own time.
  VideoReader plain(path);
  cv::Mat frame;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(plain.read(frame));
    EXPECT_EQ(rft::frame_index(frame), i);
    EXPECT_NEAR(plain.timestamp_s(), times_ms[size_t(i)] / 1000.0, 1e-6);
  }
  EXPECT_FALSE(plain.read(frame));

  // At 10 fps: output i shows the latest frame whose time is <= i / 10 s.
  VideoReaderOptions o;
  o.fps = FrameRate{10, 1};
  const auto got = indices(rft::read_all(path, o));
  const std::vector<int> want = {0, 1, 2, 2, 3, 5, 5, 5, 5, 6, 7};
  ASSERT_GE(got.size(), want.size());
  EXPECT_LE(got.size(), want.size() + 1);  // the last frame's display time is the muxer's guess
  EXPECT_EQ(std::vector<int>(got.begin(), got.begin() + long(want.size())), want);
}

class MediaReaderRotation : public ::testing::TestWithParam<int> {};

TEST_P(MediaReaderRotation, FramesComeOutUpright) {
  const int rotate_tag = GetParam();
  TempDir dir;
  // A wide picture with a red block in its top-left corner.
  VideoWriterOptions o;
  o.size = {96, 48};
  o.crf = 10;
  o.preset = "ultrafast";
  cv::Mat picture(48, 96, CV_8UC3, cv::Scalar(30, 60, 200));
  picture(cv::Rect(0, 0, 24, 16)).setTo(cv::Scalar(250, 0, 0));
  rft::write_clip(dir / "plain.mp4", o, 3, [&](int) { return picture; });
  const fs::path rotated = dir / "rotated.mp4";
  ASSERT_TRUE(rft::run_ffmpeg({"-i", (dir / "plain.mp4").string(), "-c", "copy", "-metadata:s:v",
                               "rotate=" + std::to_string(rotate_tag), rotated.string()}));
  const VideoInfo info = probe(rotated);
  EXPECT_NE(info.rotation_deg, 0);
  EXPECT_EQ(info.coded_width_px, 96);
  EXPECT_EQ(info.coded_height_px, 48);
  const bool quarter = info.rotation_deg == 90 || info.rotation_deg == 270;
  EXPECT_EQ(info.width_px, quarter ? 48 : 96);
  EXPECT_EQ(info.height_px, quarter ? 96 : 48);

  const auto ours = rft::read_all(rotated);
  // The ffmpeg program (which autorotates) is the reference for "upright".
  const auto reference = rft::ffmpeg_decode(rotated, info.width_px, info.height_px);
  ASSERT_EQ(ours.size(), 3u);
  ASSERT_EQ(reference.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(ours[i].cols, info.width_px);
    ASSERT_EQ(ours[i].rows, info.height_px);
    EXPECT_GT(cv::PSNR(ours[i], reference[i]), 35.0) << "frame " << i;
  }
  // And geometrically: the red corner went where a turn of rotation_deg clockwise puts it.
  cv::Point corner;
  switch (info.rotation_deg) {
    case 90:
      corner = {info.width_px - 4, 4};
      break;  // top-left -> top-right
    case 180:
      corner = {info.width_px - 4, info.height_px - 4};
      break;  // -> bottom-right
    case 270:
      corner = {4, info.height_px - 4};
      break;  // -> bottom-left
  }
  const cv::Vec3b px = ours[0].at<cv::Vec3b>(corner);
  EXPECT_GT(px[0], 200) << "rotation " << info.rotation_deg;
  EXPECT_LT(px[2], 80);
}

INSTANTIATE_TEST_SUITE_P(Tags, MediaReaderRotation, ::testing::Values(90, 180, 270));

TEST(MediaReader, ReframesToTheRequestedSize) {
  TempDir dir;
  const fs::path path = indexed_clip(dir, "i.mp4", {24, 1}, 4);
  VideoReaderOptions o;
  o.size = FrameSize{480, 854};
  o.fit = Fit::Letterbox;
  const auto frames = rft::read_all(path, o);
  ASSERT_EQ(frames.size(), 4u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.cols, 480);
    EXPECT_EQ(f.rows, 854);
  }
  // 128x32 letterboxed into 480 wide -> 120 rows of picture: the top rows are bars.
  EXPECT_EQ(cv::countNonZero(frames[3].reshape(1)(cv::Rect(0, 0, 480 * 3, 300))), 0);
}

TEST(MediaReader, TrimsAtMaxDuration) {
  TempDir dir;
  const fs::path path = indexed_clip(dir, "i.mp4", {24, 1}, 48);
  VideoReaderOptions o;
  o.max_duration_s = 0.5;
  EXPECT_EQ(rft::read_all(path, o).size(), 12u);
  o.fps = FrameRate{10, 1};
  EXPECT_EQ(rft::read_all(path, o).size(), 5u);
}

TEST(MediaReader, StillImageIsOneFrame) {
  TempDir dir;
  cv::Mat bgr(211, 333, CV_8UC3, cv::Scalar(10, 200, 30));
  ASSERT_TRUE(cv::imwrite((dir / "odd.png").string(), bgr));
  const VideoInfo info = probe(dir / "odd.png");
  EXPECT_TRUE(info.is_still_image);
  EXPECT_EQ(info.width_px, 333);
  EXPECT_EQ(info.height_px, 211);
  EXPECT_EQ(info.frame_count, 1);
  VideoReaderOptions o;
  o.size = FrameSize{720, 1280};
  VideoReader reader(dir / "odd.png", o);
  cv::Mat frame;
  ASSERT_TRUE(reader.read(frame));
  EXPECT_EQ(frame.size(), cv::Size(720, 1280));
  EXPECT_EQ(frame.at<cv::Vec3b>(640, 360), cv::Vec3b(30, 200, 10));  // RGB
  EXPECT_FALSE(reader.read(frame));
}

TEST(MediaReader, BadInputsAreCleanErrors) {
  TempDir dir;
  expect_error(ErrorCategory::NotFound, [&] { probe(dir / "missing.mp4"); });
  expect_error(ErrorCategory::NotFound, [&] { VideoReader r(dir / "missing.mp4"); });

  std::ofstream(dir / "text.mp4") << "this is not a video, just some text that claims to be one\n";
  expect_error(ErrorCategory::Format, [&] { probe(dir / "text.mp4"); });
  expect_error(ErrorCategory::Format, [&] { VideoReader r(dir / "text.mp4"); });

  std::ofstream(dir / "empty.mp4").close();
  expect_error(ErrorCategory::Format, [&] { probe(dir / "empty.mp4"); });
  expect_error(ErrorCategory::Format, [&] { VideoReader r(dir / "empty.mp4"); });

  ASSERT_TRUE(rft::run_ffmpeg(
      {"-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", (dir / "audio.m4a").string()}));
  expect_error(ErrorCategory::Format, [&] { probe(dir / "audio.m4a"); });
}

TEST(MediaReader, TruncatedFilesAreFormatErrors) {
  TempDir dir;
  VideoWriterOptions o;
  o.size = {320, 180};
  o.preset = "ultrafast";
  rft::write_clip(dir / "full.mp4", o, 48, [&](int i) { return synthetic_frame(o.size, i); });
  // Ours has its index in front (faststart): the cut loses frames the index lists.
  // The ffmpeg program's default puts the index at the end: the cut loses the index.
  ASSERT_TRUE(rft::run_ffmpeg(
      {"-i", (dir / "full.mp4").string(), "-c", "copy", (dir / "index_last.mp4").string()}));
  for (const char* name : {"full.mp4", "index_last.mp4"}) {
    const std::string data = read_file(dir / name);
    const fs::path cut = dir / (std::string("cut_") + name);
    std::ofstream(cut, std::ios::binary).write(data.data(), long(data.size() * 6 / 10));
    expect_error(ErrorCategory::Format, [&] { probe(cut); });
    expect_error(ErrorCategory::Format, [&] {
      VideoReader r(cut);
      cv::Mat f;
      while (r.read(f)) {
      }
    });
  }
}
