// Render plans: window arithmetic (1 + 4k frames, overlaps), output frame counts and sizes for
// every preset and duration up to 20 s, sampling settings, and the capability errors. Pure
// arithmetic over a manifest: nothing is loaded or sampled.

#include <gtest/gtest.h>

#include <cmath>

#include "reelforge/core/error.hpp"
#include "reelforge/pipeline/plan.hpp"

namespace reelforge::pipeline {
namespace {

models::ModelManifest wan21_like() {
  models::ModelManifest m;
  m.name = "wan-like";
  m.tasks = {models::Task::TextToVideo, models::Task::VideoToVideo};
  m.fps = 16;
  m.frame_count = 81;
  m.native_sizes = {{"wide", {832, 480}}, {"vertical", {480, 832}}, {"square", {624, 624}}};
  m.defaults.steps = 50;
  m.defaults.negative_prompt = "blurry";
  return m;
}

storyboard::Storyboard one_shot(double duration_s, media::Aspect aspect,
                                media::Resolution resolution, double fps = 24) {
  storyboard::Storyboard sb;
  sb.project.aspect = aspect;
  sb.project.resolution = resolution;
  sb.project.fps = fps;
  sb.project.quality = storyboard::QualityPreset::Final;
  storyboard::Shot shot;
  shot.id = "a";
  shot.prompt = "a red ball";
  shot.duration_s = duration_s;
  sb.shots.push_back(shot);
  return sb;
}

void expect_valid_windows(const std::vector<WindowPlan>& windows, int64_t needed, int64_t window,
                          int64_t overlap) {
  ASSERT_FALSE(windows.empty());
  for (size_t i = 0; i < windows.size(); ++i) {
    const WindowPlan& w = windows[i];
    EXPECT_EQ((w.frame_count - 1) % 4, 0) << "window " << i << " has " << w.frame_count;
    EXPECT_LE(w.frame_count, window);
    if (i == 0) {
      EXPECT_EQ(w.first_frame, 0);
      EXPECT_EQ(w.overlap_frames, 0);
    } else {
      EXPECT_EQ(w.overlap_frames, overlap);
      EXPECT_EQ(w.first_frame, windows[i - 1].first_frame + windows[i - 1].frame_count - overlap);
      EXPECT_GT(w.frame_count, overlap);
      EXPECT_NE(w.seed, windows[0].seed);
    }
  }
  const int64_t produced = frames_produced(windows);
  EXPECT_GE(produced, needed);
  EXPECT_LT(produced - needed, 4) << "more than 3 frames wasted";
}

TEST(PlanWindows, OneWindowRoundedUpToOnePlus4k) {
  auto w = plan_windows(1, 81, 5, 7);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].frame_count, 1);
  w = plan_windows(18, 81, 5, 7);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].frame_count, 21);
  EXPECT_EQ(w[0].seed, 7u);
  w = plan_windows(81, 81, 5, 7);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].frame_count, 81);
}

TEST(PlanWindows, LongShotsSplitIntoOverlappingWindows) {
  // 200 frames, windows of 81 sharing 5: 81, 81 from 76, then 49 from 152 -> 201 frames.
  const auto w = plan_windows(200, 81, 5, 1);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[1].first_frame, 76);
  EXPECT_EQ(w[1].frame_count, 81);
  EXPECT_EQ(w[2].first_frame, 152);
  EXPECT_EQ(w[2].frame_count, 49);
  EXPECT_EQ(frames_produced(w), 201);
  expect_valid_windows(w, 200, 81, 5);
  for (int64_t needed : {82, 100, 157, 158, 321, 400}) {
    for (int64_t overlap : {1, 5, 9}) {
      SCOPED_TRACE(testing::Message() << needed << " frames, overlap " << overlap);
      expect_valid_windows(plan_windows(needed, 81, overlap, 3), needed, 81, overlap);
      expect_valid_windows(plan_windows(needed, 17, overlap, 3), needed, 17, overlap);
    }
  }
}

TEST(PlanWindows, RejectsCountsThatAreNot1Plus4k) {
  EXPECT_THROW(plan_windows(100, 80, 5, 0), Error);
  EXPECT_THROW(plan_windows(100, 81, 4, 0), Error);   // overlap not 1 + 4k
  EXPECT_THROW(plan_windows(100, 81, 81, 0), Error);  // overlap must be < window
  EXPECT_THROW(plan_windows(0, 81, 5, 0), Error);
}

TEST(PlanRender, EveryPresetAndDurationUpTo20s) {
  const models::ModelManifest model = wan21_like();
  for (media::Aspect aspect :
       {media::Aspect::Wide, media::Aspect::Vertical, media::Aspect::Square}) {
    for (media::Resolution res :
         {media::Resolution::P480, media::Resolution::P720, media::Resolution::P1080}) {
      for (double d : {0.25, 1.0, 2.5, 5.0, 5.1, 7.3, 10.0, 15.5, 20.0}) {
        for (double fps : {24.0, 30.0, 23.976}) {
          SCOPED_TRACE(testing::Message() << media::to_string(aspect) << " "
                                          << media::to_string(res) << " " << d << " s at "
                                          << fps);
          const RenderPlan plan = plan_render(one_shot(d, aspect, res, fps), "/", model);
          EXPECT_EQ(plan.output_size, media::preset_size(aspect, res));
          const int64_t expected = std::llround(d * plan.output_fps.value());
          EXPECT_EQ(plan.output_frames, expected);
          const ShotPlan& shot = plan.shots[0];
          EXPECT_EQ(shot.output_frames, expected);
          // Every output frame has native frames to interpolate from.
          const double last_position = (expected - 1) * 16.0 / plan.output_fps.value();
          EXPECT_GE(shot.native_frames - 1, last_position - 1e-6);
          EXPECT_LT(shot.native_frames - 1, last_position + 1);
          expect_valid_windows(shot.windows, shot.native_frames, 81, 5);
        }
      }
    }
  }
  const models::NativeSize wide = model.native_sizes.at("wide");
  const RenderPlan plan =
      plan_render(one_shot(20, media::Aspect::Wide, media::Resolution::P1080), "/", model);
  EXPECT_EQ(plan.native_size, (media::FrameSize{wide.width_px, wide.height_px}));
  EXPECT_EQ(plan.shots[0].native_frames, 321);  // ceil(479 x 16 / 24 = 319.33) + 1
  ASSERT_EQ(plan.shots[0].windows.size(), 5u);  // 81 + 3 x 76 = 309, then 12 more
  EXPECT_EQ(plan.shots[0].windows[4].frame_count, 17);
}

TEST(PlanRender, ShotsAndCrossfadesOnTheOutputTimeline) {
  storyboard::Storyboard sb = one_shot(3, media::Aspect::Wide, media::Resolution::P720);
  storyboard::Shot second;
  second.id = "b";
  second.prompt = "a blue square";
  second.duration_s = 2.5;
  second.transition = {storyboard::TransitionKind::Crossfade, 0.5};
  sb.shots.push_back(second);
  storyboard::Shot third = second;
  third.id = "c";
  third.transition = {};
  third.duration_s = 1;
  sb.shots.push_back(third);
  const RenderPlan plan = plan_render(sb, "/", wan21_like());
  ASSERT_EQ(plan.shots.size(), 3u);
  EXPECT_EQ(plan.output_frames, std::llround((3 + 2.5 - 0.5 + 1) * 24));  // 144
  EXPECT_EQ(plan.shots[1].first_output_frame, 60);  // 2.5 s
  EXPECT_EQ(plan.shots[1].crossfade_frames, 12);    // 0.5 s
  EXPECT_EQ(plan.shots[1].output_frames, 60);
  EXPECT_EQ(plan.shots[2].first_output_frame, 120);
  EXPECT_EQ(plan.shots[2].crossfade_frames, 0);
  // Each shot gets its own seed; the model's negative prompt fills in for an empty one.
  EXPECT_NE(plan.shots[0].seed, plan.shots[1].seed);
  EXPECT_EQ(plan.shots[0].negative_prompt, "blurry");
}

TEST(PlanRender, DraftUsesTheNativeSizeAndHalfTheSteps) {
  storyboard::Storyboard sb = one_shot(2, media::Aspect::Vertical, media::Resolution::P1080);
  sb.project.quality = storyboard::QualityPreset::Draft;
  const RenderPlan plan = plan_render(sb, "/", wan21_like());
  EXPECT_EQ(plan.output_size, (media::FrameSize{480, 832}));
  EXPECT_EQ(plan.sampling.steps, 25);
  RenderOptions options;
  options.sampling.steps = 7;
  options.sampling.guidance = 1;
  options.sampling.solver = sampling::SolverKind::Euler;
  const RenderPlan custom = plan_render(sb, "/", wan21_like(), options);
  EXPECT_EQ(custom.sampling.steps, 7);
  EXPECT_EQ(custom.sampling.guidance, 1);
  EXPECT_EQ(custom.sampling.solver, sampling::SolverKind::Euler);
  options.sampling.steps = 0;
  EXPECT_THROW(plan_render(sb, "/", wan21_like(), options), Error);
}

TEST(PlanRender, CapabilityErrorsNameTheShotAndTheModel) {
  storyboard::Storyboard sb = one_shot(2, media::Aspect::Wide, media::Resolution::P720);
  sb.shots[0].keyframe = storyboard::Keyframe{"k.png", storyboard::KeyframeAt::First};
  try {
    plan_render(sb, "/", wan21_like());
    FAIL() << "a keyframe with a text-to-video model must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
    EXPECT_NE(e.message().find("shot 1 (\"a\")"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("cannot condition on images"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("wan-like"), std::string::npos) << e.message();
  }
  models::ModelManifest square_only = wan21_like();
  square_only.native_sizes.erase("wide");
  sb.shots[0].keyframe.reset();
  try {
    plan_render(sb, "/", square_only);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("no native size for the wide"), std::string::npos) << e.message();
  }
  models::ModelManifest t2v_only = wan21_like();
  t2v_only.tasks = {models::Task::TextToVideo};
  sb.shots[0].source_video = storyboard::SourceVideo{"clip.mp4", 0.5};
  EXPECT_THROW(plan_render(sb, "/", t2v_only), Error);
}

TEST(PlanRender, VideoToVideoRunsTheStrengthShareOfTheSteps) {
  storyboard::Storyboard sb = one_shot(2, media::Aspect::Wide, media::Resolution::P720);
  sb.shots[0].source_video = storyboard::SourceVideo{"clip.mp4", 0.6};
  const RenderPlan plan = plan_render(sb, "/base", wan21_like());
  EXPECT_EQ(plan.shots[0].sampling_steps(plan.sampling), 30);
  EXPECT_EQ(*plan.shots[0].source_video, std::filesystem::path("/base/clip.mp4"));
}

}  // namespace
}  // namespace reelforge::pipeline
