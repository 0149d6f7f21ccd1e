// VideoWriter: round trips at every preset, the 20 s clip, metadata, atomic output, cancellation,
// frame checks and the encoder fallback.

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

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

VideoWriterOptions small_options(FrameSize size = {128, 32}) {
  VideoWriterOptions o;
  o.size = size;
  o.fps = {24, 1};
  o.preset = "ultrafast";
  return o;
}

// Footage-like frames: the synthetic scene softened as a lens would, with light grain. (Hard,
// saturated colour edges are what 4:2:0 chroma subsampling loses most; real footage has few.)
cv::Mat natural_frame(FrameSize size, int index) {
  cv::Mat frame = synthetic_frame(size, index, {0.0, 7});
  cv::GaussianBlur(frame, frame, {5, 5}, 1.2);
  cv::Mat noise(frame.size(), CV_16SC3);
  cv::RNG rng(uint64_t(index) + 11);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.5);
  cv::Mat noisy;
  cv::add(frame, noise, noisy, cv::noArray(), CV_8UC3);
  return noisy;
}

// Collects log lines so a test can see the warning it expects.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

}  // namespace

class MediaWriterPresets : public ::testing::TestWithParam<std::tuple<Aspect, Resolution>> {};

TEST_P(MediaWriterPresets, RoundTripKeepsQuality) {
  const auto [aspect, resolution] = GetParam();
  const FrameSize size = preset_size(aspect, resolution);
  TempDir dir;
  const fs::path path = dir / "clip.mp4";
  VideoWriterOptions o;
  o.size = size;
  o.fps = {24, 1};
  o.preset = "veryfast";  // the default CRF; a faster preset keeps nine presets quick
  constexpr int kFrames = 4;
  std::vector<cv::Mat> frames;
  for (int i = 0; i < kFrames; ++i) frames.push_back(natural_frame(size, i * 3));
  rft::write_clip(path, o, kFrames, [&](int i) { return frames[size_t(i)]; });

  const VideoInfo info = probe(path);
  EXPECT_EQ(info.width_px, size.width_px);
  EXPECT_EQ(info.height_px, size.height_px);
  EXPECT_EQ(info.codec, "h264");
  EXPECT_EQ(info.pixel_format, "yuv420p");
  EXPECT_DOUBLE_EQ(info.fps, 24.0);
  EXPECT_EQ(info.frame_count, kFrames);

  const auto decoded = rft::read_all(path);
  ASSERT_EQ(decoded.size(), size_t(kFrames));
  double worst = 1e9;
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_EQ(decoded[size_t(i)].size(), frames[size_t(i)].size());
    worst = std::min(worst, cv::PSNR(decoded[size_t(i)], frames[size_t(i)]));
  }
  std::cout << "[ psnr     ] " << to_string(resolution) << " " << aspect_name(aspect) << " "
            << size.width_px << "x" << size.height_px << ": worst frame " << worst << " dB\n";
  RecordProperty("psnr_db", std::to_string(worst));
  EXPECT_GE(worst, 35.0);
}

INSTANTIATE_TEST_SUITE_P(
    AllPresets, MediaWriterPresets,
    ::testing::Combine(::testing::Values(Aspect::Wide, Aspect::Vertical, Aspect::Square),
                       ::testing::Values(Resolution::P480, Resolution::P720, Resolution::P1080)),
    [](const auto& info) {
      return std::string(aspect_name(std::get<0>(info.param))) + to_string(std::get<1>(info.param));
    });

TEST(MediaWriter, TwentySecondsAt24FpsIs480Frames) {
  TempDir dir;
  const fs::path path = dir / "twenty.mp4";
  const FrameSize size{1920, 1080};
  VideoWriterOptions o;
  o.size = size;
  o.fps = {24, 1};
  o.preset = "ultrafast";
  // Small motion on a fixed background keeps 480 1080p frames cheap to make and to encode.
  const cv::Mat background = synthetic_frame(size, 0, {0.0, 1});
  cv::Mat frame;
  int64_t progress_calls = 0;
  o.progress = [&](const Progress& p) {
    ++progress_calls;
    EXPECT_EQ(p.total, 480);
  };
  o.expected_frames = 480;
  rft::write_clip(path, o, 480, [&](int i) {
    background.copyTo(frame);
    cv::rectangle(frame, cv::Rect(40 + 3 * i, 500, 120, 80), cv::Scalar(250, 250, 20), cv::FILLED);
    return frame;
  });
  EXPECT_EQ(progress_calls, 481);  // one per frame, one at the end

  const VideoInfo info = probe(path);
  EXPECT_EQ(info.frame_count, 480);
  EXPECT_TRUE(info.frame_count_exact);
  EXPECT_DOUBLE_EQ(info.fps, 24.0);
  EXPECT_NEAR(info.duration_s, 20.0, 1e-6);
  EXPECT_FALSE(info.variable_frame_rate);

  VideoReader reader(path);
  int64_t count = 0;
  cv::Mat decoded;
  while (reader.read(decoded)) ++count;
  EXPECT_EQ(count, 480);
  EXPECT_NEAR(reader.timestamp_s(), 479.0 / 24.0, 1e-6);
}

TEST(MediaWriter, MetadataRoundTrips) {
  TempDir dir;
  const fs::path path = dir / "meta.mp4";
  VideoWriterOptions o = small_options();
  o.metadata.title = "Sunrise over the harbour \xC3\xA9t\xC3\xA9";
  o.metadata.comment = "made by a test";
  const auto when = std::chrono::system_clock::from_time_t(1714566600);  // 2024-05-01 12:30 UTC
  o.metadata.creation_time = when;
  const nlohmann::json settings = {{"prompt", "a boat, \"quoted\""}, {"steps", 30}, {"seed", 42}};
  o.metadata.reelforge_json = settings.dump();
  rft::write_clip(path, o, 3, [](int i) { return rft::index_frame(i); });

  const VideoInfo info = probe(path);
  EXPECT_EQ(info.metadata.title, o.metadata.title);
  EXPECT_EQ(info.metadata.comment, o.metadata.comment);
  ASSERT_TRUE(info.metadata.creation_time.has_value());
  EXPECT_EQ(*info.metadata.creation_time, when);
  EXPECT_EQ(nlohmann::json::parse(info.metadata.reelforge_json), settings);

  // An independent reader (ffprobe) sees the same tags.
  const auto r = rft::run_program(
      {"ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto tags = nlohmann::json::parse(r.out)["format"]["tags"];
  EXPECT_EQ(tags["title"], o.metadata.title);
  EXPECT_EQ(tags["comment"], o.metadata.comment);
  EXPECT_EQ(tags["creation_time"], "2024-05-01T12:30:00.000000Z");
  EXPECT_EQ(nlohmann::json::parse(tags["reelforge"].get<std::string>()), settings);
}

TEST(MediaWriter, FractionalFrameRate) {
  TempDir dir;
  VideoWriterOptions o = small_options();
  o.fps = FrameRate::from_double(23.976);
  ASSERT_EQ(o.fps.num, 24000);
  ASSERT_EQ(o.fps.den, 1001);
  rft::write_clip(dir / "ntsc.mp4", o, 24, [](int i) { return rft::index_frame(i); });
  const VideoInfo info = probe(dir / "ntsc.mp4");
  EXPECT_NEAR(info.fps, 24000.0 / 1001.0, 1e-6);
  EXPECT_NEAR(info.duration_s, 24 * 1001.0 / 24000.0, 1e-6);
  EXPECT_EQ(info.frame_count, 24);
}

TEST(MediaWriter, FrameRateLimits) {
  TempDir dir;
  for (double fps : {8.0, 60.0}) {
    VideoWriterOptions o = small_options();
    o.fps = FrameRate::from_double(fps);
    rft::write_clip(dir / "ok.mp4", o, 3, [](int i) { return rft::index_frame(i); });
    EXPECT_DOUBLE_EQ(probe(dir / "ok.mp4").fps, fps);
  }
  for (double fps : {7.0, 61.0}) {
    VideoWriterOptions o = small_options();
    o.fps = FrameRate::from_double(fps);
    try {
      VideoWriter w(dir / "bad.mp4", o);
      FAIL() << "accepted " << fps;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("8 to 60"), std::string::npos) << e.what();
    }
  }
}

TEST(MediaWriter, RejectsBadOptions) {
  TempDir dir;
  auto expect_invalid = [&](VideoWriterOptions o, const std::string& needle) {
    try {
      VideoWriter w(dir / "x.mp4", o);
      ADD_FAILURE() << "accepted; expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  VideoWriterOptions o = small_options({333, 212});
  expect_invalid(o, "odd");
  o = small_options();
  o.crf = 52;
  expect_invalid(o, "CRF 52");
  o = small_options();
  o.preset = "fastest";
  expect_invalid(o, "fastest");
  EXPECT_TRUE(rft::folder_entries(dir.path()).empty());
}

TEST(MediaWriter, WrongFramesNameExpectedAndGot) {
  TempDir dir;
  VideoWriter writer(dir / "v.mp4", small_options({64, 48}));
  try {
    writer.write(cv::Mat(40, 30, CV_8UC3, cv::Scalar::all(0)));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("30x40"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 64x48"), std::string::npos) << e.what();
  }
  try {
    writer.write(cv::Mat(48, 64, CV_8UC1, cv::Scalar::all(0)));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CV_8UC1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CV_8UC3"), std::string::npos) << e.what();
  }
  // The writer is still usable after a rejected frame.
  writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(90)));
  writer.finish();
  EXPECT_EQ(probe(dir / "v.mp4").frame_count, 1);
}

TEST(MediaWriter, FileAppearsOnlyWhenFinished) {
  TempDir dir;
  const fs::path path = dir / "final.mp4";
  VideoWriter writer(path, small_options());
  for (int i = 0; i < 5; ++i) writer.write(rft::index_frame(i));
  EXPECT_FALSE(fs::exists(path));
  const auto during = rft::folder_entries(dir.path());
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0].front(), '.');                   // hidden temporary ...
  EXPECT_EQ(fs::path(during[0]).extension(), ".mp4");  // ... with the final extension
  writer.finish();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(rft::folder_entries(dir.path()), std::vector<std::string>{"final.mp4"});
  EXPECT_EQ(probe(path).frame_count, 5);
}

TEST(MediaWriter, CancelLeavesNothing) {
  TempDir dir;
  CancellationToken token;
  VideoWriterOptions o = small_options();
  o.cancel = token;
  VideoWriter writer(dir / "cancelled.mp4", o);
  for (int i = 0; i < 3; ++i) writer.write(rft::index_frame(i));
  token.cancel();
  try {
    writer.write(rft::index_frame(3));
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
  // Gone at once, not only when the writer dies.
  EXPECT_TRUE(rft::folder_entries(dir.path()).empty());
}

TEST(MediaWriter, UnfinishedWriterLeavesNothing) {
  TempDir dir;
  {
    VideoWriter writer(dir / "dropped.mp4", small_options());
    for (int i = 0; i < 3; ++i) writer.write(rft::index_frame(i));
  }
  EXPECT_TRUE(rft::folder_entries(dir.path()).empty());
  // Finishing without frames is an error and also leaves nothing.
  VideoWriter empty(dir / "empty.mp4", small_options());
  EXPECT_THROW(empty.finish(), Error);
  EXPECT_TRUE(rft::folder_entries(dir.path()).empty());
}

TEST(MediaWriter, ReplacesAnExistingFileOnlyOnSuccess) {
  TempDir dir;
  const fs::path path = dir / "v.mp4";
  rft::write_clip(path, small_options(), 2, [](int i) { return rft::index_frame(i); });
  const auto size_before = fs::file_size(path);
  {
    VideoWriter writer(path, small_options());
    for (int i = 0; i < 20; ++i) writer.write(rft::index_frame(i));
  }  // abandoned
  EXPECT_EQ(fs::file_size(path), size_before);
  EXPECT_EQ(probe(path).frame_count, 2);
}

TEST(MediaWriter, EncoderFallback) {
  auto sink = std::make_shared<CaptureSink>();
  spdlog::default_logger()->sinks().push_back(sink);
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  EXPECT_EQ(choose_encoder({"libx264", "mpeg4"}), "libx264");
  EXPECT_EQ(choose_encoder({"no-such-encoder", "mpeg4"}), "mpeg4");

  TempDir dir;
  VideoWriterOptions o = small_options({128, 64});
  o.encoders = {"no-such-encoder", "mpeg4"};
  cv::Mat frame = synthetic_frame({128, 64}, 0, {1.0, 3});
  rft::write_clip(dir / "fallback.mp4", o, 4, [&](int) { return frame; });
  spdlog::default_logger()->sinks().pop_back();
  spdlog::set_level(level);

  bool warned = false;
  for (const auto& line : sink->lines) {
    if (line.find("no-such-encoder") != std::string::npos &&
        line.find("mpeg4") != std::string::npos)
      warned = true;
  }
  EXPECT_TRUE(warned) << "no warning naming the missing encoder and the fallback";
  const VideoInfo info = probe(dir / "fallback.mp4");
  EXPECT_EQ(info.codec, "mpeg4");
  const auto decoded = rft::read_all(dir / "fallback.mp4");
  ASSERT_EQ(decoded.size(), 4u);
  EXPECT_GT(cv::PSNR(decoded[0], frame), 30.0);

  try {
    choose_encoder({"no-such-encoder"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
    EXPECT_NE(std::string(e.what()).find("no-such-encoder"), std::string::npos);
  }
}

TEST(MediaWriter, MissingFolderIsNotFound) {
  TempDir dir;
  try {
    VideoWriter w(dir / "no" / "such" / "v.mp4", small_options());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
  }
}
