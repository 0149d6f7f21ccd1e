// The invisible watermark on real files: a marked 1080p clip encoded with FFmpeg, then attacked
// with the ffmpeg program (H.264 CRF 28, downscale to 720p, 10% centre crop, excerpt); the
// payload must come back exactly and the raw bit error rate of each attack is recorded. Unmarked
// clips must never be reported as marked.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/media/synthetic.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/safety/watermark.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace reelforge;
using namespace reelforge::safety;
using reelforge::testing::TempDir;

namespace {

constexpr const char* kKey = "reelforge-test-install";
const WatermarkPayload kPayload{0xC0FFEE42u, 0x0BADF00Du};
// 3 s at 8 fps: long enough for the 2 s excerpt, few enough 1080p frames to stay quick
// (the mark is per frame: the rate does not matter to it).
constexpr int kFrames = 24;
constexpr int kFps = 8;
const media::FrameSize kSize{1920, 1080};

cv::Mat scene(int index, uint64_t seed = 11) {
  media::SyntheticOptions o;
  o.noise_sigma = 3.0;
  o.seed = seed;
  return media::synthetic_frame(kSize, index, o);
}

WatermarkResult detect_file(const fs::path& path, const std::string& key = kKey) {
  WatermarkDetector detector(key);
  media::VideoReader reader(path);
  cv::Mat frame;
  while (reader.read(frame)) detector.add_frame(frame);
  return detector.result();
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// The marked clip, written once for the suite: encoding 1080p is the slow part.
class WatermarkFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    media::VideoWriterOptions o;
    o.size = kSize;
    o.fps = {kFps, 1};
    // ctest runs each test in its own process, so this runs once per test: keep it quick.
    o.preset = "ultrafast";
    media::VideoWriter writer(marked_path(), o);
    WatermarkEmbedder embedder(kKey);
    double psnr_sum = 0;
    min_psnr_ = 1e9;
    for (int i = 0; i < kFrames; ++i) {
      const cv::Mat clean = scene(i);
      cv::Mat marked = clean.clone();
      embedder.embed(marked, kPayload);
      const double psnr = cv::PSNR(clean, marked);
      psnr_sum += psnr;
      min_psnr_ = std::min(min_psnr_, psnr);
      writer.write(marked);
    }
    writer.finish();
    mean_psnr_ = psnr_sum / kFrames;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path marked_path() { return *dir_ / "marked.mp4"; }

  // Runs ffmpeg on the marked clip with `args` before the output, then detects.
  WatermarkResult attack(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"-i", marked_path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path out = *dir_ / (name + ".mp4");
    argv.push_back(out.string());
    EXPECT_TRUE(reelforge::testing::run_ffmpeg(argv));
    const WatermarkResult r = detect_file(out);
    RecordProperty(name + "_raw_ber", std::to_string(r.bit_error_rate));
    RecordProperty(name + "_confidence", std::to_string(r.confidence));
    std::printf("[ watermark ] %-10s frames %3lld  confidence %6.2f  raw BER %.4f  zoom %.3f\n",
                name.c_str(), static_cast<long long>(r.frames), r.confidence, r.bit_error_rate,
                r.zoom);
    return r;
  }

  static void expect_payload(const WatermarkResult& r) {
    EXPECT_TRUE(r.found) << "confidence " << r.confidence << ", raw BER " << r.bit_error_rate;
    EXPECT_GE(r.confidence, kWatermarkDetectionThreshold);
    EXPECT_EQ(hex(r.payload.install_id), hex(kPayload.install_id));
    EXPECT_EQ(hex(r.payload.generation_id), hex(kPayload.generation_id));
  }

  static TempDir* dir_;
  static double mean_psnr_;
  static double min_psnr_;
};

TempDir* WatermarkFiles::dir_ = nullptr;
double WatermarkFiles::mean_psnr_ = 0;
double WatermarkFiles::min_psnr_ = 0;

}  // namespace

TEST_F(WatermarkFiles, QualityCostIsBelowVisibility) {
  RecordProperty("psnr_mean_db", std::to_string(mean_psnr_));
  RecordProperty("psnr_min_db", std::to_string(min_psnr_));
  std::printf("[ watermark ] PSNR mean %.2f dB, min %.2f dB\n", mean_psnr_, min_psnr_);
  EXPECT_GE(min_psnr_, 40.0);
}

TEST_F(WatermarkFiles, MarkedClipDecodes) {
  const WatermarkResult r = detect_file(marked_path());
  EXPECT_EQ(r.frames, kFrames);
  EXPECT_NEAR(r.zoom, 1.0, 1e-9);
  EXPECT_EQ(r.bit_error_rate, 0.0);
  expect_payload(r);
}

TEST_F(WatermarkFiles, SurvivesH264Crf28) {
  expect_payload(attack("crf28", {"-c:v", "libx264", "-preset", "veryfast", "-crf", "28"}));
}

TEST_F(WatermarkFiles, SurvivesDownscaleTo720p) {
  expect_payload(attack(
      "720p", {"-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"}));
}

TEST_F(WatermarkFiles, SurvivesCentreCrop) {
  // 10% off the width and the height, kept at the cropped size (1728x972).
  const WatermarkResult r = attack("crop10", {"-vf", "crop=iw*0.9:ih*0.9", "-c:v", "libx264",
                                              "-preset", "veryfast", "-crf", "23"});
  expect_payload(r);
  EXPECT_NEAR(r.zoom, 1.0 / 0.9, 0.01);
}

TEST_F(WatermarkFiles, SurvivesExcerpt) {
  // A 2 s excerpt from the middle of the 3 s clip.
  const WatermarkResult r = attack("excerpt", {"-ss", "0.5", "-t", "2", "-c:v", "libx264",
                                               "-preset", "veryfast", "-crf", "23"});
  EXPECT_GE(r.frames, 2 * kFps - 1);
  EXPECT_LE(r.frames, 2 * kFps + 1);
  expect_payload(r);
}

TEST_F(WatermarkFiles, SurvivesAllAttacksTogether) {
  expect_payload(
      attack("combined", {"-ss", "0.25", "-t", "0.5", "-vf", "crop=iw*0.9:ih*0.9,scale=1280:720",
                          "-c:v", "libx264", "-preset", "veryfast", "-crf", "28"}));
}

TEST_F(WatermarkFiles, WrongKeyFindsNothing) {
  const WatermarkResult r = detect_file(marked_path(), "another-install");
  EXPECT_FALSE(r.found);
  EXPECT_LT(r.confidence, kWatermarkDetectionThreshold);
}

TEST(Watermark, NoFalsePositivesOnUnmarkedClips) {
  // 100 small unmarked clips of varied size, aspect, content, grain and length, through a real
  // encode and decode. The detector searches the crop zoom on each, so this also bounds how often
  // noise alone lines up with the pilot.
  TempDir dir;
  const std::vector<media::FrameSize> sizes = {
      {320, 180}, {256, 144}, {320, 240}, {240, 320}, {400, 224}};
  double max_confidence = -1e9;
  int found = 0;
  for (int clip = 0; clip < 100; ++clip) {
    media::VideoWriterOptions o;
    o.size = sizes[clip % sizes.size()];
    o.fps = {24, 1};
    o.preset = "ultrafast";
    o.crf = 18 + clip % 12;
    const fs::path path = dir / ("clip" + std::to_string(clip) + ".mp4");
    media::VideoWriter writer(path, o);
    media::SyntheticOptions s;
    s.seed = 1000 + clip;
    s.noise_sigma = (clip % 4) * 2.5;
    const int frames = 2 + clip % 5;
    for (int i = 0; i < frames; ++i) writer.write(media::synthetic_frame(o.size, clip * 37 + i, s));
    writer.finish();
    const WatermarkResult r = detect_file(path);
    max_confidence = std::max(max_confidence, r.confidence);
    if (r.found) {
      ++found;
      ADD_FAILURE() << "false positive on clip " << clip << ": confidence " << r.confidence;
    }
  }
  RecordProperty("unmarked_max_confidence", std::to_string(max_confidence));
  std::printf("[ watermark ] 100 unmarked clips: %d found, max confidence %.2f (threshold %.1f)\n",
              found, max_confidence, kWatermarkDetectionThreshold);
  EXPECT_EQ(found, 0);
  EXPECT_LT(max_confidence, kWatermarkDetectionThreshold);
}

TEST(Watermark, AccumulatesEvidenceOverFrames) {
  // A weak mark (a quarter of the default amplitude) under heavy grain: one frame is not enough,
  // the whole clip is, and confidence grows with the frames.
  WatermarkEmbedder embedder(kKey, kWatermarkDefaultAmplitude / 4);
  WatermarkDetector one(kKey), many(kKey);
  media::SyntheticOptions s;
  s.noise_sigma = 12.0;
  for (int i = 0; i < 16; ++i) {
    cv::Mat f = media::synthetic_frame({640, 360}, i * 5, s);
    embedder.embed(f, kPayload);
    if (i == 0) one.add_frame(f);
    many.add_frame(f);
  }
  const WatermarkResult r1 = one.result(), r16 = many.result();
  std::printf(
      "[ watermark ] weak mark: 1 frame confidence %.2f raw BER %.4f found %d; 16 frames "
      "confidence %.2f raw BER %.4f found %d\n",
      r1.confidence, r1.bit_error_rate, r1.found, r16.confidence, r16.bit_error_rate, r16.found);
  EXPECT_GT(r16.confidence, r1.confidence * 2) << r1.confidence << " -> " << r16.confidence;
  EXPECT_GT(r1.bit_error_rate, r16.bit_error_rate);
  EXPECT_TRUE(r16.found);
  EXPECT_EQ(r16.payload, kPayload);
}

TEST(Watermark, DifferentPayloadsDecodeApart) {
  for (const WatermarkPayload p :
       {WatermarkPayload{0, 0}, WatermarkPayload{~0u, ~0u}, WatermarkPayload{1, 0x80000000u}}) {
    WatermarkEmbedder embedder(kKey);
    WatermarkDetector detector(kKey);
    for (int i = 0; i < 3; ++i) {
      cv::Mat f = media::synthetic_frame({640, 360}, i);
      embedder.embed(f, p);
      detector.add_frame(f);
    }
    const WatermarkResult r = detector.result();
    EXPECT_TRUE(r.found);
    EXPECT_EQ(r.payload, p) << hex(r.payload.install_id) << " " << hex(r.payload.generation_id);
  }
}

TEST(Watermark, RejectsBadFrames) {
  WatermarkEmbedder embedder(kKey);
  WatermarkDetector detector(kKey);
  cv::Mat gray(100, 100, CV_8UC1, cv::Scalar(0)), tiny(20, 20, CV_8UC3, cv::Scalar(0)), empty;
  for (cv::Mat* m : {&gray, &tiny, &empty}) {
    EXPECT_THROW(embedder.embed(*m, kPayload), Error);
    EXPECT_THROW(detector.add_frame(*m), Error);
  }
  EXPECT_THROW(WatermarkEmbedder(kKey, 0.0), Error);
  EXPECT_FALSE(detector.result().found);  // no frames
  EXPECT_EQ(detector.result().frames, 0);
}

TEST(Watermark, BenchmarkFigures) {
  // Not a pass/fail test: the cost of marking one 1080p frame (after the first, which builds the
  // pattern) and of the detector's share of verifying a 20 s clip at 24 fps (480 frames; decoding
  // the file is extra and measured by the media benchmarks).
  WatermarkEmbedder embedder(kKey);
  cv::Mat frame = scene(0);
  embedder.embed(frame, kPayload);
  const int reps = 20;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) embedder.embed(frame, kPayload);
  const double embed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
      reps;
  WatermarkDetector detector(kKey);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 480; ++i) detector.add_frame(frame);
  const double add_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  const WatermarkResult r = detector.result();
  const double result_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.found);
  RecordProperty("embed_ms_per_1080p_frame", std::to_string(embed_ms));
  RecordProperty("detect_ms_20s_clip", std::to_string(add_ms + result_ms));
  std::printf(
      "[ watermark ] embed %.2f ms per 1080p frame; detect 20 s 1080p: %.0f ms "
      "(add_frame %.2f ms/frame, result %.1f ms)\n",
      embed_ms, add_ms + result_ms, add_ms / 480, result_ms);
}

TEST(Watermark, ErrorCorrectionRepairsRawBitErrors) {
  // The same weak mark over two frames: several percent of the coded bits arrive wrong and the
  // convolutional code still returns the payload exactly. With one frame the errors are too many;
  // the CRC then rejects the decode even though the pilot alone is above the threshold.
  WatermarkEmbedder embedder(kKey, kWatermarkDefaultAmplitude / 4);
  media::SyntheticOptions s;
  s.noise_sigma = 12.0;
  WatermarkDetector detector(kKey);
  std::vector<WatermarkResult> results;
  for (int i = 0; i < 2; ++i) {
    cv::Mat f = media::synthetic_frame({640, 360}, i * 5, s);
    embedder.embed(f, kPayload);
    detector.add_frame(f);
    results.push_back(detector.result());
  }
  EXPECT_FALSE(results[0].found);
  EXPECT_GT(results[0].bit_error_rate, 0.1);
  EXPECT_TRUE(results[1].found);
  EXPECT_GT(results[1].bit_error_rate, 0.03);
  EXPECT_EQ(results[1].payload, kPayload);
  RecordProperty("corrected_raw_ber", std::to_string(results[1].bit_error_rate));
}
