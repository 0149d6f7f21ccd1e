// `reelforge generate`, `render` and `bench generate` as a user runs them, with tiny random
// models written by the test.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/models/model_writer.hpp"
#include "support/testing.hpp"

using reelforge::testing::run_cli;
using reelforge::testing::TempDir;
namespace fs = std::filesystem;

namespace {

fs::path write_tiny(const TempDir& dir, reelforge::models::WanModelType type) {
  auto spec = reelforge::models::RandomModelSpec::tiny(type);
  spec.name = type == reelforge::models::WanModelType::T2V ? "cli-t2v" : "cli-ti2v";
  const fs::path path = dir / spec.name;
  reelforge::models::write_random_model(path, spec);
  return path;
}

}  // namespace

TEST(GenerateCli, WritesAClipWithTheRequestedPresetLengthAndSeed) {
  TempDir tmp;
  const fs::path model = write_tiny(tmp, reelforge::models::WanModelType::T2V);
  const fs::path out = tmp / "ball.mp4";
  const auto r = run_cli({"generate", "a red ball rolls left", "-o", out.string(), "--model",
                          model.string(), "--duration", "1.5", "--resolution", "480p", "--aspect",
                          "9:16", "--fps", "12", "--seed", "77", "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("seed 77"), std::string::npos) << r.out;
  const reelforge::media::VideoInfo info = reelforge::media::probe(out);
  EXPECT_EQ(info.width_px, 480);
  EXPECT_EQ(info.height_px, 854);
  EXPECT_EQ(info.frame_count, 18);
  const auto meta = nlohmann::json::parse(info.metadata.reelforge_json);
  EXPECT_EQ(meta["seed"], 77);
  EXPECT_EQ(meta["model"]["name"], "cli-t2v");
  EXPECT_EQ(meta["plan"]["shots"][0]["prompt"], "a red ball rolls left");
  EXPECT_FALSE(fs::exists(tmp / ".ball.mp4.job"));
}

TEST(GenerateCli, ClearErrorsForBadRequests) {
  TempDir tmp;
  const fs::path model = write_tiny(tmp, reelforge::models::WanModelType::T2V);
  cv::imwrite((tmp / "key.png").string(), cv::Mat(48, 80, CV_8UC3, cv::Scalar(10, 200, 30)));
  auto r = run_cli({"generate", "a ball", "-o", (tmp / "x.mp4").string(), "--model",
                    model.string(), "--image", (tmp / "key.png").string()});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("cannot condition on images"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "x.mp4"));

  r = run_cli({"generate", "a ball", "-o", (tmp / "x.mp4").string(), "--model", "nope"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no installed model called 'nope'"), std::string::npos) << r.err;

  r = run_cli({"generate", "a ball", "--model", model.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing -o/--output"), std::string::npos) << r.err;

  r = run_cli({"generate", "a ball", "-o", (tmp / "x.mp4").string(), "--duration", "25"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--duration"), std::string::npos) << r.err;

  r = run_cli({"render", "--resume", (tmp / "nothing").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no job.json"), std::string::npos) << r.err;
}

TEST(RenderCli, RendersAStoryboardBesideItAndResumesAKeptJob) {
  TempDir tmp;
  const fs::path model = write_tiny(tmp, reelforge::models::WanModelType::TI2V);
  cv::imwrite((tmp / "key.png").string(), cv::Mat(48, 80, CV_8UC3, cv::Scalar(10, 200, 30)));
  reelforge::write_file_atomic(tmp / "board.json", R"({
    "format": "reelforge.storyboard", "version": 1, "title": "cli",
    "project": {"aspect": "1:1", "resolution": "480p", "fps": 8, "model": "cli-ti2v",
                "quality": "final", "seed": 5},
    "shots": [
      {"id": "one", "prompt": "a red ball", "duration_s": 1},
      {"id": "two", "prompt": "a green ring", "duration_s": 1, "continuity": "continue",
       "keyframe": {"path": "key.png", "at": "last"}}
    ]
  })");
  // The model is found by name on $REELFORGE_MODELS (inherited by the child).
  auto r = [&] {
    reelforge::testing::ScopedEnv models("REELFORGE_MODELS", tmp.path().string());
    return run_cli({"render", (tmp / "board.json").string(), "--preset", "ultrafast",
                    "--keep-job"});
  }();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const reelforge::media::VideoInfo info = reelforge::media::probe(tmp / "board.mp4");
  EXPECT_EQ(info.width_px, 480);
  EXPECT_EQ(info.frame_count, 16);
  const fs::path job = tmp / ".board.mp4.job";
  ASSERT_TRUE(fs::exists(job / "job.json")) << r.out;
  fs::remove(tmp / "board.mp4");
  // Resuming the kept job samples nothing again.
  r = run_cli({"render", "--resume", job.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("windows sampled 0, reused 2"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "board.mp4"));
}

TEST(BenchCli, GeneratePrintsSecondsPerStage) {
  const auto r = run_cli({"bench", "generate", "--duration", "0.5", "--resolution", "480p",
                          "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* stage : {"text", "sample", "decode", "interpolate", "upscale", "encode"}) {
    EXPECT_NE(r.out.find(stage), std::string::npos) << stage << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("12 frames of 854x480"), std::string::npos) << r.out;
}

TEST(BenchCli, PostPrintsRetimeAndUpscaleFigures) {
  const auto r = run_cli({"bench", "post", "--size", "96x64", "--frames", "5", "--resolution",
                          "480p"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("96x64 -> 854x480"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ms per output frame"), std::string::npos) << r.out;
  EXPECT_EQ(run_cli({"bench", "post", "--size", "96"}).exit_code, 2);
}

TEST(DatasetCli, WritesClipsAndCaptions) {
  TempDir tmp;
  const fs::path out = tmp / "samples";
  const auto r = run_cli({"dataset", "-o", out.string(), "--count", "3", "--split", "heldout",
                          "--frames", "8", "--seed", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream captions(out / "captions.jsonl");
  std::string line;
  int lines = 0;
  const int expected_width[] = {128, 72, 72};  // wide, vertical, square in turn
  while (std::getline(captions, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["split"], "heldout");
    EXPECT_FALSE(j["caption"].get<std::string>().empty());
    EXPECT_TRUE(j["objects"][0]["held_out"].get<bool>()) << line;
    const auto info = reelforge::media::probe(out / j["file"].get<std::string>());
    EXPECT_EQ(info.frame_count, 8);
    EXPECT_EQ(info.width_px, expected_width[lines]);
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  EXPECT_EQ(run_cli({"dataset", "-o", out.string(), "--split", "test"}).exit_code, 2);
  EXPECT_EQ(run_cli({"dataset", "--count", "2"}).exit_code, 2);
}
