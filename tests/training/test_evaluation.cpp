// The held-out evaluation: the scoring of a reading against real renders of the world, the whole
// evaluation on a tiny random TI2V model through the real runtime, and `reelforge eval`.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/dataset/score.hpp"
#include "reelforge/dataset/world.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/training/evaluation.hpp"
#include "support/testing.hpp"

namespace reelforge::training {
namespace {
namespace fs = std::filesystem;
using reelforge::testing::run_cli;
using reelforge::testing::TempDir;

// The tiny TI2V model, written on first use (the training module's other tests do not need it)
// and removed at exit.
struct TinyTI2V {
  TinyTI2V() {
    models::RandomModelSpec spec = models::RandomModelSpec::tiny(models::WanModelType::TI2V);
    spec.name = "tiny-eval-ti2v";
    manifest = models::write_random_model(folder(), spec);
  }
  fs::path folder() const { return dir.path() / "tiny-ti2v"; }
  fs::path scratch() const { return dir.path(); }

  TempDir dir;
  models::ModelManifest manifest;
};

const TinyTI2V& tiny_model() {
  static const TinyTI2V model;
  return model;
}

// The tiny model on the CPU in float32, the reference path.
std::shared_ptr<pipeline::ModelRuntime> load_tiny_model() {
  pipeline::RuntimeOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  return pipeline::ModelRuntime::load(tiny_model().manifest, options);
}

std::vector<dataset::ClipSpec> held_out_single_object_specs(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<dataset::ClipSpec> specs;
  while (static_cast<int>(specs.size()) < count) {
    dataset::ClipSpec spec = dataset::sample_clip(rng, dataset::Split::HeldOut);
    if (spec.objects.size() == 1) specs.push_back(spec);
  }
  return specs;
}

TEST(Evaluation, ScoresRealRendersAllCorrect) {
  for (const dataset::ClipSpec& spec : held_out_single_object_specs(12, 5)) {
    const dataset::ClipReading r = dataset::read_clip(dataset::render_clip(spec, {64, 64}, 17));
    const AttributeCheck check = score_reading(spec, r);
    EXPECT_TRUE(check.all_correct()) << dataset::canonical_caption(spec);
    // The image-to-video check reads frame 0 alone (twice, as read_clip needs two frames).
    const cv::Mat first = dataset::render_clip(spec, {64, 64}, 17).front();
    const dataset::ClipReading f = dataset::read_clip({first, first});
    EXPECT_TRUE(f.found && f.color == spec.objects[0].color && f.shape == spec.objects[0].shape)
        << dataset::canonical_caption(spec);
  }
}

TEST(Evaluation, AMismatchedAttributeIsTheOnlyOneWrong) {
  const dataset::ClipSpec spec = held_out_single_object_specs(1, 9).front();
  const dataset::ClipReading r = dataset::read_clip(dataset::render_clip(spec, {64, 64}, 17));
  ASSERT_TRUE(score_reading(spec, r).all_correct()) << dataset::canonical_caption(spec);

  auto expect_only = [&](const dataset::ClipSpec& wrong, Attribute attribute) {
    const AttributeCheck check = score_reading(wrong, r);
    for (Attribute a : all_attributes()) {
      EXPECT_EQ(check[a], a != attribute) << to_string(attribute) << " changed, " << to_string(a);
    }
  };
  dataset::ClipSpec wrong = spec;
  wrong.background = spec.background == dataset::Background::Night ? dataset::Background::Gray
                                                                   : dataset::Background::Night;
  expect_only(wrong, Attribute::Background);
  wrong = spec;
  wrong.objects[0].color = spec.objects[0].color == dataset::ObjectColor::Red
                               ? dataset::ObjectColor::White
                               : dataset::ObjectColor::Red;
  expect_only(wrong, Attribute::Color);
  wrong = spec;
  wrong.objects[0].shape =
      spec.objects[0].shape == dataset::Shape::Ring ? dataset::Shape::Square : dataset::Shape::Ring;
  expect_only(wrong, Attribute::Shape);
  wrong = spec;
  wrong.objects[0].size =
      spec.objects[0].size == dataset::Size::Big ? dataset::Size::Small : dataset::Size::Big;
  expect_only(wrong, Attribute::Size);
  wrong = spec;
  wrong.objects[0].motion = spec.objects[0].motion == dataset::Motion::Grow
                                ? dataset::Motion::Shrink
                                : dataset::Motion::Grow;
  expect_only(wrong, Attribute::Motion);

  dataset::ClipReading flicker = r;
  flicker.stability = kStableFraction - 0.05;
  const AttributeCheck unstable = score_reading(spec, flicker);
  for (Attribute a : all_attributes()) EXPECT_EQ(unstable[a], a != Attribute::Stability);

  dataset::ClipReading nothing = r;
  nothing.found = false;
  const AttributeCheck none = score_reading(spec, nothing);
  for (Attribute a : all_attributes()) EXPECT_FALSE(none[a]) << to_string(a);
  EXPECT_THROW(score_reading(dataset::ClipSpec{}, r), Error);
}

TEST(Evaluation, MisreadingsCountWhatEachWrongClipWasReadAs) {
  const std::vector<dataset::ClipSpec> specs = held_out_single_object_specs(3, 9);
  EvalReport report;
  auto add = [&](EvalMode mode, const dataset::ClipSpec& spec, const dataset::ClipReading& read) {
    EvalClip clip;
    clip.mode = mode;
    clip.expected = spec;
    clip.read = read;
    clip.check = score_reading(spec, read);
    report.clips.push_back(clip);
  };
  // A reading that sees the spec exactly, except for the shape.
  auto read_as = [](const dataset::ClipSpec& spec, dataset::Shape shape) {
    dataset::ClipReading r;
    r.found = true;
    r.stability = 1.0;
    r.background = spec.background;
    r.color = spec.objects[0].color;
    r.shape = shape;
    r.size = spec.objects[0].size;
    r.motion = spec.objects[0].motion;
    return r;
  };
  dataset::ClipSpec star = specs[0];
  star.objects[0].shape = dataset::Shape::Star;
  dataset::ClipSpec circle = specs[1];
  circle.objects[0].shape = dataset::Shape::Circle;
  // Two stars and a circle read as squares, a star read right; one clip with no object at all.
  add(EvalMode::TextToVideo, star, read_as(star, dataset::Shape::Square));
  add(EvalMode::TextToVideo, circle, read_as(circle, dataset::Shape::Square));
  add(EvalMode::TextToVideo, star, read_as(star, dataset::Shape::Square));
  add(EvalMode::TextToVideo, star, read_as(star, dataset::Shape::Star));
  dataset::ClipSpec triangle = specs[2];
  triangle.objects[0].shape = dataset::Shape::Triangle;
  dataset::ClipReading nothing;
  nothing.found = false;
  add(EvalMode::TextToVideo, triangle, nothing);
  // Image-to-video clips are not part of the held-out text-to-video figures.
  add(EvalMode::ImageToVideo, star, read_as(star, dataset::Shape::Ring));

  const std::vector<Misreading> wrong = misreadings(report);
  std::vector<Misreading> shape;
  std::copy_if(wrong.begin(), wrong.end(), std::back_inserter(shape),
               [](const Misreading& m) { return m.attribute == Attribute::Shape; });
  ASSERT_EQ(shape.size(), 3U);
  EXPECT_EQ(shape[0].expected, "star");
  EXPECT_EQ(shape[0].read, "square");
  EXPECT_EQ(shape[0].count, 2);
  EXPECT_EQ(shape[1].expected, "circle");
  EXPECT_EQ(shape[1].count, 1);
  EXPECT_EQ(shape[2].expected, "triangle");
  EXPECT_EQ(shape[2].read, "nothing");
  // The missing object is misread once on every attribute with classes, and stability is not one.
  for (Attribute a : all_attributes()) {
    const auto n = std::count_if(wrong.begin(), wrong.end(),
                                 [&](const Misreading& m) { return m.attribute == a; });
    EXPECT_EQ(n, a == Attribute::Shape ? 3 : a == Attribute::Stability ? 0 : 1) << to_string(a);
  }
  for (size_t i = 1; i < wrong.size(); ++i) {
    EXPECT_LE(static_cast<int>(wrong[i - 1].attribute), static_cast<int>(wrong[i].attribute));
  }

  const std::string table = format_report(report);
  EXPECT_NE(table.find("star -> square 2, circle -> square 1"), std::string::npos) << table;
  const nlohmann::json j = to_json(report);
  ASSERT_EQ(j.at("misreadings").size(), wrong.size());
  EXPECT_EQ(j.at("misreadings")[0].at("attribute"), to_string(wrong[0].attribute));
}

TEST(Evaluation, EndToEndOnATinyTI2VModel) {
  const auto runtime = load_tiny_model();
  ASSERT_TRUE(runtime->conditions_on_images());

  EvalOptions options;
  options.clips = 3;
  options.i2v_clips = 2;
  options.steps = 2;
  int64_t last_step = -1;
  int64_t total = 0;
  int saved = 0;
  const EvalReport report = evaluate_model(
      *runtime, options,
      [&](const Progress& p) {
        EXPECT_EQ(p.stage, "eval");
        EXPECT_GE(p.step, last_step);
        last_step = p.step;
        total = p.total;
      },
      nullptr,
      [&](const EvalClip& clip, const std::vector<cv::Mat>& frames) {
        EXPECT_EQ(static_cast<int>(frames.size()), tiny_model().manifest.frame_count);
        EXPECT_EQ(frames.front().cols, clip.width_px);
        EXPECT_EQ(frames.front().rows, clip.height_px);
        ++saved;
      });
  EXPECT_EQ(total, 5 * 2);
  EXPECT_EQ(last_step, total);
  EXPECT_EQ(saved, 5);
  EXPECT_EQ(report.steps, 2);
  EXPECT_EQ(report.guidance, tiny_model().manifest.defaults.guidance);

  ASSERT_EQ(report.clips.size(), 5U);
  std::set<std::string> buckets;
  for (size_t i = 0; i < report.clips.size(); ++i) {
    const EvalClip& c = report.clips[i];
    EXPECT_EQ(c.mode, i < 3 ? EvalMode::TextToVideo : EvalMode::ImageToVideo);
    ASSERT_EQ(c.expected.objects.size(), 1U);
    EXPECT_TRUE(dataset::is_held_out(c.expected.objects.front()));
    EXPECT_EQ(c.prompt, dataset::canonical_caption(c.expected));
    EXPECT_EQ(c.first_frame.has_value(), c.mode == EvalMode::ImageToVideo);
    const AttributeCheck again = score_reading(c.expected, c.read);
    EXPECT_EQ(again.correct, c.check.correct);
    buckets.insert(c.bucket);
  }
  EXPECT_EQ(buckets.size(), std::min<size_t>(3, tiny_model().manifest.native_sizes.size()));
  for (Attribute a : all_attributes()) {
    const Tally& t = report.attribute(a);
    EXPECT_EQ(t.total, 3) << to_string(a);
    int correct = 0;
    for (int i = 0; i < 3; ++i) correct += report.clips[i].check[a] ? 1 : 0;
    EXPECT_EQ(t.correct, correct) << to_string(a);
    EXPECT_LE(report.all_correct.correct, t.correct);
  }
  EXPECT_EQ(report.all_correct.total, 3);
  EXPECT_EQ(report.keyframe_kept.total, 2);
  EXPECT_EQ(report.moves_as_prompted.total, 2);

  const nlohmann::json j = nlohmann::json::parse(to_json(report).dump());
  EXPECT_EQ(j.at("model"), tiny_model().manifest.name);
  EXPECT_EQ(j.at("steps"), 2);
  for (Attribute a : all_attributes()) {
    const nlohmann::json& t = j.at("attributes").at(to_string(a));
    EXPECT_EQ(t.at("correct"), report.attribute(a).correct);
    EXPECT_EQ(t.at("total"), report.attribute(a).total);
    EXPECT_DOUBLE_EQ(t.at("rate").get<double>(), report.attribute(a).rate());
  }
  EXPECT_EQ(j.at("all_correct").at("correct"), report.all_correct.correct);
  EXPECT_EQ(j.at("i2v").at("keyframe_kept").at("correct"), report.keyframe_kept.correct);
  EXPECT_EQ(j.at("i2v").at("moves_as_prompted").at("total"), 2);
  ASSERT_EQ(j.at("clips").size(), 5U);
  EXPECT_EQ(j.at("clips")[0].at("prompt"), report.clips[0].prompt);
  EXPECT_EQ(j.at("clips")[4].at("mode"), "i2v");

  const std::string table = format_report(report);
  for (Attribute a : all_attributes()) {
    EXPECT_NE(table.find(to_string(a)), std::string::npos) << table;
  }
  EXPECT_NE(table.find("all correct"), std::string::npos) << table;
  EXPECT_NE(table.find("keyframe kept"), std::string::npos) << table;

  // The same seed gives the same prompts and noise, so the same readings.
  options.clips = 1;
  options.i2v_clips = 0;
  const EvalReport again = evaluate_model(*runtime, options);
  ASSERT_EQ(again.clips.size(), 1U);
  EXPECT_EQ(again.clips[0].prompt, report.clips[0].prompt);
  EXPECT_EQ(again.clips[0].seed, report.clips[0].seed);
  EXPECT_EQ(again.clips[0].check.correct, report.clips[0].check.correct);

  CancellationToken cancel;
  cancel.cancel();
  EXPECT_THROW(evaluate_model(*runtime, options, {}, &cancel), Error);
}

TEST(Evaluation, VaeRoundTripScoresTheRendersThroughTheVae) {
  const auto runtime = load_tiny_model();

  EvalOptions options;
  options.clips = 2;
  options.i2v_clips = 1;
  options.steps = 2;
  const EvalReport generated = evaluate_model(*runtime, options);

  options.vae_round_trip = true;
  int64_t total = 0;
  int64_t last_step = -1;
  double largest_difference = 0;
  const EvalReport round_trip = evaluate_model(
      *runtime, options,
      [&](const Progress& p) {
        total = p.total;
        last_step = p.step;
      },
      nullptr,
      [&](const EvalClip& clip, const std::vector<cv::Mat>& frames) {
        ASSERT_EQ(static_cast<int>(frames.size()), tiny_model().manifest.frame_count);
        const std::vector<cv::Mat> rendered =
            dataset::render_clip(clip.expected, {clip.width_px, clip.height_px},
                                 tiny_model().manifest.frame_count);
        for (size_t f = 0; f < frames.size(); ++f) {
          largest_difference = std::max(largest_difference, cv::norm(frames[f], rendered[f],
                                                                      cv::NORM_INF));
        }
      });
  EXPECT_TRUE(round_trip.vae_round_trip);
  EXPECT_EQ(total, 3);  // one step per clip: nothing is sampled
  EXPECT_EQ(last_step, total);
  // The tiny model's VAE is random, so what is scored is visibly not the render itself.
  EXPECT_GT(largest_difference, 20.0);

  // The same seed asks for the same clips as the generating evaluation, so the two compare.
  ASSERT_EQ(round_trip.clips.size(), generated.clips.size());
  for (size_t i = 0; i < generated.clips.size(); ++i) {
    EXPECT_EQ(round_trip.clips[i].prompt, generated.clips[i].prompt);
    EXPECT_EQ(round_trip.clips[i].bucket, generated.clips[i].bucket);
    EXPECT_EQ(round_trip.clips[i].mode, generated.clips[i].mode);
  }
  EXPECT_EQ(round_trip.all_correct.total, 2);
  EXPECT_EQ(round_trip.keyframe_kept.total, 1);
  EXPECT_EQ(to_json(round_trip).at("source"), "vae_round_trip");
  EXPECT_EQ(to_json(generated).at("source"), "generated");
  EXPECT_NE(format_report(round_trip).find("VAE round trip"), std::string::npos);
  EXPECT_EQ(format_report(generated).find("VAE round trip"), std::string::npos);

  const auto r = run_cli({"eval", tiny_model().folder().string(), "--clips", "1", "--i2v-clips",
                          "0", "--vae-round-trip"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("VAE round trip of 1 rendered clips"), std::string::npos) << r.out;
}

// Video-to-video from the world's renders: at strength 0 nothing is sampled, so every clip is the
// VAE round trip of its render; at 0.5 the model samples half the schedule from the noised render.
TEST(Evaluation, FromRendersStartsFromTheNoisedRender) {
  const auto runtime = load_tiny_model();
  EvalOptions options;
  options.clips = 2;
  options.i2v_clips = 0;
  options.steps = 2;
  auto frames_of = [&](const EvalOptions& o, EvalReport* report, int64_t* total) {
    std::vector<std::vector<cv::Mat>> clips;
    *report = evaluate_model(
        *runtime, o, [&](const Progress& p) { *total = p.total; }, nullptr,
        [&](const EvalClip&, const std::vector<cv::Mat>& frames) { clips.push_back(frames); });
    return clips;
  };
  int64_t total = 0;
  EvalReport round_trip, kept, half;
  options.vae_round_trip = true;
  const auto round_trip_frames = frames_of(options, &round_trip, &total);
  options.vae_round_trip = false;
  options.source_strength = 0.0;
  const auto kept_frames = frames_of(options, &kept, &total);
  options.source_strength = 0.5;
  const auto half_frames = frames_of(options, &half, &total);
  EXPECT_EQ(total, 2);  // one of the two steps per clip

  ASSERT_EQ(kept_frames.size(), 2U);
  ASSERT_EQ(half_frames.size(), 2U);
  double kept_difference = 0, half_difference = 0;
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(kept.clips[c].prompt, round_trip.clips[c].prompt);
    EXPECT_EQ(kept.clips[c].check.correct, round_trip.clips[c].check.correct);
    for (size_t f = 0; f < kept_frames[c].size(); ++f) {
      kept_difference = std::max(
          kept_difference, cv::norm(kept_frames[c][f], round_trip_frames[c][f], cv::NORM_INF));
      half_difference = std::max(
          half_difference, cv::norm(half_frames[c][f], round_trip_frames[c][f], cv::NORM_INF));
    }
  }
  EXPECT_LE(kept_difference, 1.0);
  EXPECT_GT(half_difference, 20.0);  // the random DiT redrew it

  EXPECT_EQ(to_json(half).at("source"), "renders_video_to_video");
  EXPECT_DOUBLE_EQ(to_json(half).at("source_strength").get<double>(), 0.5);
  EXPECT_NE(format_report(half).find("video-to-video clips from the world's renders"),
            std::string::npos);

  options.source_strength = 1.5;
  EXPECT_THROW(evaluate_model(*runtime, options), Error);
  options.source_strength = 0.5;
  options.vae_round_trip = true;
  EXPECT_THROW(evaluate_model(*runtime, options), Error);

  const auto r = run_cli({"eval", tiny_model().folder().string(), "--clips", "1", "--i2v-clips",
                          "0", "--steps", "2", "--from-render", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("at strength 0.50"), std::string::npos) << r.out;
}

TEST(Evaluation, TheTrainSplitAsksForCombinationsSeenInTraining) {
  const auto runtime = load_tiny_model();

  EvalOptions options;
  options.clips = 5;
  options.i2v_clips = 1;
  options.vae_round_trip = true;  // the split is about the prompts; no need to sample
  const EvalReport held_out = evaluate_model(*runtime, options);
  options.split = dataset::Split::Train;
  const EvalReport train = evaluate_model(*runtime, options);

  ASSERT_EQ(train.clips.size(), 6U);
  for (const EvalClip& clip : held_out.clips) {
    EXPECT_TRUE(dataset::is_held_out(clip.expected.objects.front())) << clip.prompt;
  }
  for (const EvalClip& clip : train.clips) {
    ASSERT_EQ(clip.expected.objects.size(), 1U);
    EXPECT_FALSE(dataset::is_held_out(clip.expected.objects.front())) << clip.prompt;
  }
  EXPECT_EQ(to_json(train).at("split"), "train");
  EXPECT_EQ(to_json(held_out).at("split"), "heldout");
  EXPECT_NE(format_report(train).find("training combinations"), std::string::npos);
  EXPECT_NE(format_report(held_out).find("held-out combinations"), std::string::npos);
  // A curriculum's rung asks for what that rung trains on.
  options.mix = dataset::parse_world_mix("star,big,white,gray,still");
  const EvalReport rung = evaluate_model(*runtime, options);
  ASSERT_EQ(rung.clips.size(), 6U);
  for (const EvalClip& clip : rung.clips) {
    EXPECT_EQ(clip.prompt, "a big white star staying still on a gray background");
  }
  EXPECT_NE(format_report(rung).find("training combinations (the goals are for held-out ones) of "
                                     "the world mix [star,white,big,still,gray]"),
            std::string::npos)
      << format_report(rung);
  options.split = dataset::Split::HeldOut;
  EXPECT_THROW(evaluate_model(*runtime, options), Error);

  const auto r = run_cli({"eval", tiny_model().folder().string(), "--clips", "1", "--i2v-clips",
                          "0", "--vae-round-trip", "--split", "train"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 rendered clips of training combinations"), std::string::npos) << r.out;
  const auto held_out_mix =
      run_cli({"eval", tiny_model().folder().string(), "--world-mix", "star", "--vae-round-trip"});
  EXPECT_NE(held_out_mix.exit_code, 0);
  EXPECT_NE(held_out_mix.err.find("held-out prompts are the world's own mix"), std::string::npos)
      << held_out_mix.err;
  const auto bad = run_cli({"eval", tiny_model().folder().string(), "--split", "validation"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--split: unknown split 'validation'; valid: train, heldout"),
            std::string::npos)
      << bad.err;
}

TEST(Evaluation, CliWritesTheJsonReport) {
  const fs::path out = tiny_model().scratch() / "out.json";
  const fs::path clips = tiny_model().scratch() / "clips";
  const auto r =
      run_cli({"eval", tiny_model().folder().string(), "--clips", "2", "--i2v-clips", "1",
               "--steps", "2", "--json", out.string(), "--save-clips", clips.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("all correct"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(read_file(out));
  EXPECT_EQ(j.at("all_correct").at("total"), 2);
  EXPECT_EQ(j.at("i2v").at("keyframe_kept").at("total"), 1);
  EXPECT_EQ(j.at("clips").size(), 3U);
  int mp4 = 0;
  for (const auto& entry : fs::directory_iterator(clips)) {
    mp4 += entry.path().extension() == ".mp4" ? 1 : 0;
  }
  EXPECT_EQ(mp4, 3);
}

}  // namespace
}  // namespace reelforge::training
