// convert_clip (stills and videos into presets), frame rates and creation times.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/convert.hpp"
#include "reelforge/media/frame_rate.hpp"
#include "reelforge/media/metadata.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/media/video_reader.hpp"
#include "support/media_testing.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace reelforge;
using namespace reelforge::media;
namespace rft = reelforge::testing;
using reelforge::testing::TempDir;

TEST(MediaFrameRate, FromDoubleAndParse) {
  EXPECT_EQ(FrameRate::from_double(24), (FrameRate{24, 1}));
  EXPECT_EQ(FrameRate::from_double(23.976), (FrameRate{24000, 1001}));
  EXPECT_EQ(FrameRate::from_double(23.98), (FrameRate{24000, 1001}));
  EXPECT_EQ(FrameRate::from_double(29.97), (FrameRate{30000, 1001}));
  EXPECT_EQ(FrameRate::from_double(59.94), (FrameRate{60000, 1001}));
  EXPECT_EQ(FrameRate::from_double(12.5), (FrameRate{25, 2}));
  EXPECT_EQ(FrameRate::parse("24000/1001"), (FrameRate{24000, 1001}));
  EXPECT_EQ(FrameRate::parse("30000:1001").to_string(), "30000/1001");
  EXPECT_EQ(FrameRate::parse("25").to_string(), "25");
  EXPECT_THROW(FrameRate::parse("fast"), Error);
  EXPECT_THROW(FrameRate::parse("24/0"), Error);
  EXPECT_THROW(FrameRate::from_double(-1), Error);
  EXPECT_EQ(default_output_fps(0), (FrameRate{24, 1}));
  EXPECT_EQ(default_output_fps(4), (FrameRate{8, 1}));
  EXPECT_EQ(default_output_fps(120), (FrameRate{60, 1}));
  EXPECT_EQ(default_output_fps(30000.0 / 1001), (FrameRate{30000, 1001}));
}

TEST(MediaMetadata, CreationTimeText) {
  const auto t = std::chrono::system_clock::from_time_t(1714566600);
  EXPECT_EQ(format_creation_time(t), "2024-05-01T12:30:00.000000Z");
  EXPECT_EQ(parse_creation_time("2024-05-01T12:30:00.000000Z"), t);
  EXPECT_EQ(parse_creation_time("2024-05-01 12:30:00"), t);
  EXPECT_FALSE(parse_creation_time("yesterday"));
  EXPECT_FALSE(parse_creation_time("2024-13-01T00:00:00Z"));
}

TEST(MediaConvert, OddStillToVerticalClip) {
  TempDir dir;
  cv::Mat bgr(211, 333, CV_8UC3);
  cv::randu(bgr, 0, 255);
  ASSERT_TRUE(cv::imwrite((dir / "odd.png").string(), bgr));
  ConvertOptions o;
  o.aspect = Aspect::Vertical;
  o.resolution = Resolution::P720;
  o.duration_s = 2.0;
  o.preset = "ultrafast";
  int64_t last_step = 0;
  const ConvertResult r = convert_clip(dir / "odd.png", dir / "out.mp4", o,
                                       [&](const Progress& p) { last_step = p.step; });
  EXPECT_TRUE(r.from_still_image);
  EXPECT_EQ(r.frame_count, 48);  // 2 s at the still default of 24 fps
  EXPECT_EQ(last_step, 48);
  const VideoInfo info = probe(dir / "out.mp4");
  EXPECT_EQ(info.width_px, 720);
  EXPECT_EQ(info.height_px, 1280);
  EXPECT_EQ(info.frame_count, 48);
  EXPECT_DOUBLE_EQ(info.fps, 24.0);
  const auto settings = nlohmann::json::parse(info.metadata.reelforge_json);
  EXPECT_EQ(settings["operation"], "convert");
  EXPECT_EQ(settings["aspect"], "9:16");
  EXPECT_TRUE(info.metadata.creation_time.has_value());
}

TEST(MediaConvert, StillDefaultsToFiveSeconds) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite((dir / "s.jpg").string(), cv::Mat(60, 80, CV_8UC3, cv::Scalar(1, 2, 3))));
  ConvertOptions o;
  o.aspect = Aspect::Square;
  o.resolution = Resolution::P480;
  o.fit = Fit::Letterbox;
  o.fps = FrameRate{10, 1};
  o.preset = "ultrafast";
  EXPECT_EQ(convert_clip(dir / "s.jpg", dir / "s.mp4", o).frame_count, 50);
  EXPECT_NEAR(probe(dir / "s.mp4").duration_s, 5.0, 1e-6);
}

TEST(MediaConvert, VideoKeepsItsRateAndTrims) {
  TempDir dir;
  ASSERT_TRUE(
      rft::run_ffmpeg({"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-frames:v", "45",
                       "-c:v", "libx264", "-preset", "ultrafast", (dir / "in.mp4").string()}));
  ConvertOptions o;
  o.aspect = Aspect::Wide;
  o.resolution = Resolution::P480;
  o.preset = "ultrafast";
  const ConvertResult full = convert_clip(dir / "in.mp4", dir / "full.mp4", o);
  EXPECT_EQ(full.fps, (FrameRate{30, 1}));
  EXPECT_EQ(full.frame_count, 45);
  EXPECT_EQ(probe(dir / "full.mp4").width_px, 854);

  o.max_duration_s = 1.0;
  o.fps = FrameRate{24, 1};
  EXPECT_EQ(convert_clip(dir / "in.mp4", dir / "trim.mp4", o).frame_count, 24);
  o.duration_s = 0.5;  // the shorter of the two wins
  EXPECT_EQ(convert_clip(dir / "in.mp4", dir / "trim2.mp4", o).frame_count, 12);
}

TEST(MediaConvert, SlowSourceIsRaisedToEightFps) {
  TempDir dir;
  ASSERT_TRUE(
      rft::run_ffmpeg({"-f", "lavfi", "-i", "testsrc=size=160x120:rate=4", "-frames:v", "8", "-c:v",
                       "libx264", "-preset", "ultrafast", (dir / "slow.mp4").string()}));
  ConvertOptions o;
  o.aspect = Aspect::Square;
  o.resolution = Resolution::P480;
  o.preset = "ultrafast";
  const ConvertResult r = convert_clip(dir / "slow.mp4", dir / "out.mp4", o);
  EXPECT_EQ(r.fps, (FrameRate{8, 1}));
  EXPECT_EQ(r.frame_count, 16);  // 2 s at 8 fps, each source frame twice
}

TEST(MediaConvert, CancelledLeavesNothing) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite((dir / "s.png").string(), cv::Mat(60, 80, CV_8UC3, cv::Scalar(1, 2, 3))));
  fs::create_directory(dir / "out");
  CancellationToken token;
  ConvertOptions o;
  o.preset = "ultrafast";
  o.resolution = Resolution::P480;
  int64_t seen = 0;
  auto progress = [&](const Progress& p) {
    seen = p.step;
    if (p.step == 10) token.cancel();
  };
  try {
    convert_clip(dir / "s.png", dir / "out" / "c.mp4", o, progress, token);
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
  EXPECT_EQ(seen, 10);
  EXPECT_TRUE(rft::folder_entries(dir / "out").empty());
}

TEST(MediaConvert, RejectsBadOptions) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite((dir / "s.png").string(), cv::Mat(60, 80, CV_8UC3, cv::Scalar(1, 2, 3))));
  ConvertOptions o;
  o.fps = FrameRate{120, 1};
  EXPECT_THROW(convert_clip(dir / "s.png", dir / "x.mp4", o), Error);
  o = {};
  o.duration_s = 0;
  EXPECT_THROW(convert_clip(dir / "s.png", dir / "x.mp4", o), Error);
  EXPECT_FALSE(fs::exists(dir / "x.mp4"));
}
