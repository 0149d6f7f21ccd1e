// The model shipped in models/builtin: complete, within its size budget, found by name, and
// generating clips of its world through the ordinary pipeline and the `reelforge` program.

#include <gtest/gtest.h>

#include <filesystem>

#include "reelforge/media/video_info.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/training/evaluation.hpp"
#include "support/testing.hpp"

namespace reelforge {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::TempDir;

constexpr int64_t kMaxModelBytes = int64_t(25) << 20;

TEST(BuiltinModel, IsInstalledCompleteAndSmall) {
  const models::ModelManifest m = models::find_model(models::kBuiltinModelName);
  EXPECT_TRUE(m.missing_files().empty());
  for (const auto task :
       {models::Task::TextToVideo, models::Task::ImageToVideo, models::Task::VideoToVideo}) {
    EXPECT_TRUE(m.supports(task)) << models::to_string(task);
  }
  EXPECT_EQ(m.native_sizes.size(), 3U);
  EXPECT_TRUE(fs::exists(m.dir / "MODEL_CARD.md"));
  int64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(m.dir)) bytes += int64_t(entry.file_size());
  EXPECT_LE(bytes, kMaxModelBytes);
}

// A few held-out prompts through the evaluation (the real pipeline and the world's scorer):
// the shipped model draws the asked background from text, and image-to-video keeps its keyframe.
// Thresholds are the figures of its MODEL_CARD.md with room for a different CPU's rounding.
TEST(BuiltinModel, FollowsBackgroundsFromTextAndKeepsKeyframes) {
  const models::ModelManifest m = models::find_model(models::kBuiltinModelName);
  const auto runtime = pipeline::ModelRuntime::load(m);
  training::EvalOptions options;
  options.clips = 6;
  options.i2v_clips = 3;
  const training::EvalReport report = training::evaluate_model(*runtime, options);
  ASSERT_EQ(report.attribute(training::Attribute::Background).total, 6);
  EXPECT_GE(report.attribute(training::Attribute::Background).correct, 4)
      << training::format_report(report);
  EXPECT_GE(report.keyframe_kept.correct, 2) << training::format_report(report);
}

// The README's kind of command with the built-in model, end to end: a finished 720p clip.
TEST(BuiltinModel, GeneratesThroughTheCommandLine) {
  TempDir dir;
  const fs::path out = dir / "ball.mp4";
  const RunResult r =
      testing::run_cli({"generate", "a small red ball rolls to the left across a blue sky", "-o",
                        out.string(), "--model", "builtin", "--duration", "2", "--resolution",
                        "720p", "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const media::VideoInfo info = media::probe(out);
  EXPECT_EQ(info.width_px, 1280);
  EXPECT_EQ(info.height_px, 720);
  EXPECT_NEAR(info.duration_s, 2.0, 0.1);
}

}  // namespace
}  // namespace reelforge
