// `reelforge probe`, `convert` and `bench encode` through the real binary.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::testing::run_cli;
using reelforge::testing::run_ffmpeg;
using reelforge::testing::TempDir;

namespace {

fs::path make_clip(const TempDir& dir) {
  const fs::path path = dir / "clip.mp4";
  EXPECT_TRUE(run_ffmpeg({"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-frames:v", "45",
                          "-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=Test clip",
                          path.string()}));
  return path;
}

nlohmann::json probe_json(const fs::path& path) {
  const auto r = run_cli({"probe", path.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST(MediaCli, ProbeJsonParses) {
  TempDir dir;
  const fs::path clip = make_clip(dir);
  const auto j = probe_json(clip);
  EXPECT_EQ(j["width_px"], 320);
  EXPECT_EQ(j["height_px"], 240);
  EXPECT_EQ(j["frame_count"], 45);
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 1.5);
  EXPECT_EQ(j["codec"], "h264");
  EXPECT_EQ(j["is_still_image"], false);
  EXPECT_EQ(j["metadata"]["title"], "Test clip");
}

TEST(MediaCli, ProbeLines) {
  TempDir dir;
  const auto r = run_cli({"probe", make_clip(dir).string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("size: 320x240"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("frames: 45"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("title: Test clip"), std::string::npos) << r.out;
}

TEST(MediaCli, ConvertStillToVertical720p) {
  TempDir dir;
  cv::Mat bgr(211, 333, CV_8UC3);
  cv::randu(bgr, 0, 255);
  ASSERT_TRUE(cv::imwrite((dir / "odd.jpg").string(), bgr));
  const fs::path out = dir / "still.mp4";
  const auto r =
      run_cli({"convert", (dir / "odd.jpg").string(), "-o", out.string(), "--aspect", "9:16",
               "--resolution", "720p", "--duration", "1.5", "--preset", "ultrafast", "--fit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("720x1280"), std::string::npos) << r.out;
  const auto j = probe_json(out);
  EXPECT_EQ(j["width_px"], 720);
  EXPECT_EQ(j["height_px"], 1280);
  EXPECT_EQ(j["frame_count"], 36);
  EXPECT_EQ(j["metadata"]["reelforge"]["fit"], "letterbox");
}

TEST(MediaCli, ConvertClipToVertical720p) {
  TempDir dir;
  const fs::path out = dir / "vertical.mp4";
  const auto r = run_cli({"convert", make_clip(dir).string(), "--output", out.string(), "--aspect",
                          "vertical", "--resolution", "720p", "--fps", "24", "--max-duration", "1",
                          "--crf", "23", "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = probe_json(out);
  EXPECT_EQ(j["width_px"], 720);
  EXPECT_EQ(j["height_px"], 1280);
  EXPECT_EQ(j["frame_count"], 24);
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 24.0);
  EXPECT_EQ(j["metadata"]["reelforge"]["fit"], "fill");
}

TEST(MediaCli, BadArgumentsAreNamed) {
  TempDir dir;
  const std::string clip = make_clip(dir).string();
  const std::string out = (dir / "o.mp4").string();
  const std::vector<std::string> base = {"convert", clip, "-o", out};
  struct Case {
    std::vector<std::string> extra;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--aspect", "4:3", "--resolution", "720p"}, "--aspect"},
      {{"--aspect", "16:9", "--resolution", "4k"}, "--resolution"},
      {{"--aspect", "16:9", "--resolution", "720p", "--fps", "100"}, "--fps"},
      {{"--aspect", "16:9", "--resolution", "720p", "--fps", "fast"}, "--fps"},
      {{"--aspect", "16:9", "--resolution", "720p", "--crf", "99"}, "--crf"},
      {{"--aspect", "16:9", "--resolution", "720p", "--crf", "high"}, "--crf"},
      {{"--aspect", "16:9", "--resolution", "720p", "--preset", "fastest"}, "--preset"},
      {{"--aspect", "16:9", "--resolution", "720p", "--duration", "-1"}, "--duration"},
      {{"--aspect", "16:9", "--resolution", "720p", "--max-duration", "0"}, "--max-duration"},
      {{"--aspect", "16:9", "--resolution", "720p", "--fit", "--fill"}, "--fit"},
      {{"--aspect", "16:9", "--resolution", "720p", "--bogus"}, "--bogus"},
      {{"--resolution", "720p"}, "--aspect"},
      {{"--aspect", "16:9"}, "--resolution"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = base;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << c.needle;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  }
  auto r = run_cli({"convert", clip, "--aspect", "16:9", "--resolution", "720p"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--output"), std::string::npos) << r.err;
  r = run_cli({"convert", (dir / "missing.mp4").string(), "-o", out, "--aspect", "16:9",
               "--resolution", "720p"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("missing.mp4"), std::string::npos) << r.err;
  r = run_cli({"probe"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("FILE"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(MediaCli, BenchEncodeRunsAndCompares) {
  auto r = run_cli({"bench", "encode", "--frames", "3", "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reelforge:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ffmpeg:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ratio ours/ffmpeg:"), std::string::npos) << r.out;
  r = run_cli({"bench", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = run_cli({"bench", "encode", "--frames", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--frames"), std::string::npos) << r.err;
}
