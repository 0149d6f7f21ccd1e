// Render jobs end to end with tiny random-weight models written by the test in the real layouts
// (models::write_random_model): real safetensors, a real SentencePiece tokenizer, real MP4s.
// The models know nothing, so the checks are about structure: frame counts and sizes,
// reproducibility, conditioning reaching the frames, seams, cancellation and resuming.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/media_testing.hpp"
#include <ATen/ATen.h>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/pipeline/generator.hpp"
#include "reelforge/pipeline/render_job.hpp"
#include "reelforge/safety/provenance.hpp"
#include "reelforge/safety/verify.hpp"
#include "reelforge/sampling/noise.hpp"
#include "reelforge/sampling/scheduler.hpp"
#include "support/testing.hpp"

#include <nlohmann/json.hpp>

namespace reelforge::pipeline {
namespace {
namespace fs = std::filesystem;
using reelforge::testing::TempDir;

// The two tiny models, written once for the whole test program.
class TinyModels : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    models::RandomModelSpec t2v = models::RandomModelSpec::tiny(models::WanModelType::T2V);
    t2v.name = "tiny-t2v";
    t2v_manifest = models::write_random_model(dir_->path() / "tiny-t2v", t2v);
    models::RandomModelSpec ti2v = models::RandomModelSpec::tiny(models::WanModelType::TI2V);
    ti2v.name = "tiny-ti2v";
    ti2v_manifest = models::write_random_model(dir_->path() / "tiny-ti2v", ti2v);
    RuntimeOptions options;
    options.device = Device::CPU;
    options.dtype = ComputeDType::Float32;
    t2v_runtime = ModelRuntime::load(t2v_manifest, options);
    ti2v_runtime = ModelRuntime::load(ti2v_manifest, options);
  }
  void TearDown() override {
    t2v_runtime.reset();
    ti2v_runtime.reset();
    dir_.reset();
  }
  const fs::path& dir() const { return dir_->path(); }

  models::ModelManifest t2v_manifest, ti2v_manifest;
  std::shared_ptr<ModelRuntime> t2v_runtime, ti2v_runtime;

 private:
  std::unique_ptr<TempDir> dir_;
};

TinyModels* g_models = nullptr;
const auto* const kRegistered = ::testing::AddGlobalTestEnvironment(g_models = new TinyModels);

// Every render writes the moderation audit log and may create the install's signing key in the
// user data folder: a scratch one here, never the real one.
class ScratchUserData : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    env_ = std::make_unique<testing::ScopedEnv>("REELFORGE_DATA", dir_->path().string());
  }
  void TearDown() override {
    env_.reset();
    dir_.reset();
  }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<testing::ScopedEnv> env_;
};
const auto* const kScratchData = ::testing::AddGlobalTestEnvironment(new ScratchUserData);

storyboard::Shot text_shot(const std::string& id, double duration_s,
                           const std::string& prompt = "a red ball rolls left") {
  storyboard::Shot shot;
  shot.id = id;
  shot.prompt = prompt;
  shot.duration_s = duration_s;
  return shot;
}

storyboard::Storyboard board(std::vector<storyboard::Shot> shots,
                             media::Aspect aspect = media::Aspect::Wide,
                             storyboard::QualityPreset quality = storyboard::QualityPreset::Draft,
                             double fps = 16) {
  storyboard::Storyboard sb;
  sb.title = "test";
  sb.project.aspect = aspect;
  sb.project.resolution = media::Resolution::P1080;
  sb.project.fps = fps;
  sb.project.quality = quality;
  sb.project.seed = 42;
  sb.shots = std::move(shots);
  return sb;
}

RenderRequest request(const storyboard::Storyboard& sb, const fs::path& output,
                      const std::shared_ptr<ModelRuntime>& model) {
  RenderRequest r;
  r.storyboard = sb;
  r.storyboard.project.model = model->manifest().name;
  r.base_dir = output.parent_path();
  r.output = output;
  r.model = model;
  r.options.encoder_preset = "ultrafast";
  r.options.crf = 0;
  r.options.sampling.steps = 4;  // a draft would halve the model's 4
  // One watermark payload for every render, so that frames of different renders compare exactly
  // (a fresh id per render changes the invisible mark).
  r.generation_id = 0x5eed1234;
  return r;
}

std::vector<cv::Mat> frames_of(const fs::path& clip) { return testing::read_all(clip); }

// Renders and returns the frames exactly as they went to the encoder.
std::vector<cv::Mat> render_frames(RenderRequest r, RenderResult* result = nullptr) {
  std::vector<cv::Mat> frames;
  r.frame_sink = [&](const cv::Mat& rgb, int64_t index) {
    EXPECT_EQ(index, static_cast<int64_t>(frames.size()));
    frames.push_back(rgb.clone());
  };
  RenderResult res = RenderJob(std::move(r)).run();
  EXPECT_EQ(res.frames, static_cast<int64_t>(frames.size()));
  if (result) *result = res;
  return frames;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3;
}

bool identical(const std::vector<cv::Mat>& a, const std::vector<cv::Mat>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (cv::norm(a[i], b[i], cv::NORM_INF) != 0) return false;
  }
  return true;
}

// A smooth still at the model's native wide size: a gradient with a disc.
cv::Mat keyframe_image(int width, int height) {
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(40 + 150 * x / width),
                                          static_cast<uint8_t>(60 + 120 * y / height), 170);
    }
  }
  cv::circle(rgb, {width / 3, height / 2}, height / 4, cv::Scalar(250, 230, 30), cv::FILLED);
  return rgb;
}

// A 16 fps clip at the tiny models' wide size (80x48): the keyframe picture with a disc moving
// right by `step_px` a frame.
void write_moving_disc_clip(const fs::path& path, int frames, int step_px) {
  media::VideoWriterOptions options;
  options.size = {80, 48};
  options.fps = {16, 1};
  options.preset = "ultrafast";
  testing::write_clip(path, options, frames, [&](int i) {
    cv::Mat f = keyframe_image(80, 48);
    cv::circle(f, {8 + step_px * i, 26}, 9, cv::Scalar(240, 30, 30), cv::FILLED);
    return f;
  });
}

void save_png(const fs::path& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  ASSERT_TRUE(cv::imwrite(path.string(), bgr));
}

TEST(Render, ThreeShotStoryboardTo1080pInEveryAspect) {
  TempDir tmp;
  const cv::Mat still = keyframe_image(160, 96);
  save_png(tmp / "key.png", still);
  media::VideoWriterOptions clip_options;
  clip_options.size = {128, 72};
  clip_options.fps = {24, 1};
  clip_options.preset = "ultrafast";
  testing::write_clip(tmp / "source.mp4", clip_options, 30, [](int i) {
    return testing::index_frame(i, 128, 72);
  });
  for (media::Aspect aspect :
       {media::Aspect::Wide, media::Aspect::Vertical, media::Aspect::Square}) {
    SCOPED_TRACE(media::to_string(aspect));
    storyboard::Shot a = text_shot("text", 0.75);
    storyboard::Shot b = text_shot("image", 0.5, "a yellow square grows");
    b.keyframe = storyboard::Keyframe{"key.png", storyboard::KeyframeAt::First};
    b.transition = {storyboard::TransitionKind::Crossfade, 0.25};
    storyboard::Shot c = text_shot("video", 0.5, "a green triangle spins");
    c.source_video = storyboard::SourceVideo{"source.mp4", 0.5};
    const storyboard::Storyboard sb =
        board({a, b, c}, aspect, storyboard::QualityPreset::Final, 8);
    const fs::path out = tmp / (std::string(media::aspect_name(aspect)) + ".mp4");
    const RenderResult result = RenderJob(request(sb, out, g_models->ti2v_runtime)).run();
    const media::FrameSize size = media::preset_size(aspect, media::Resolution::P1080);
    const media::VideoInfo info = media::probe(out);
    EXPECT_EQ(info.width_px, size.width_px);
    EXPECT_EQ(info.height_px, size.height_px);
    EXPECT_EQ(info.frame_count, 12);  // (0.75 + 0.5 - 0.25 + 0.5) s x 8 fps
    EXPECT_EQ(result.frames, 12);
    EXPECT_NE(info.metadata.reelforge_json.find("\"ai_generated\":true"), std::string::npos);
    EXPECT_NE(info.metadata.reelforge_json.find("tiny-ti2v"), std::string::npos);
    // The model's hash, as the signed sidecar records it.
    const std::string model_hash = safety::ProvenanceManifest::load(result.provenance).model_hash;
    EXPECT_NE(info.metadata.reelforge_json.find("\"hash\":\"" + model_hash), std::string::npos);
    EXPECT_TRUE(result.job_dir.empty());
    EXPECT_FALSE(fs::exists(default_job_dir(out)));
  }
}

TEST(Render, SameSeedGivesIdenticalFramesAndAnotherSeedDoesNot) {
  TempDir tmp;
  const storyboard::Storyboard sb = board({text_shot("a", 1.0)});
  RenderJob(request(sb, tmp / "one.mp4", g_models->t2v_runtime)).run();
  RenderJob(request(sb, tmp / "two.mp4", g_models->t2v_runtime)).run();
  storyboard::Storyboard other = sb;
  other.project.seed = 43;
  RenderJob(request(other, tmp / "three.mp4", g_models->t2v_runtime)).run();
  const auto one = frames_of(tmp / "one.mp4"), two = frames_of(tmp / "two.mp4"),
             three = frames_of(tmp / "three.mp4");
  ASSERT_EQ(one.size(), 16u);
  EXPECT_TRUE(identical(one, two));
  ASSERT_EQ(three.size(), 16u);
  EXPECT_GT(mean_abs_diff(one[8], three[8]), 1.0);
}

TEST(Render, ImageToVideoKeepsTheKeyframeAtItsPosition) {
  TempDir tmp;
  const ModelRuntime& rt = *g_models->ti2v_runtime;
  const media::FrameSize native{80, 48};
  ASSERT_EQ(rt.manifest().native_sizes.at("wide").width_px, native.width_px);
  const cv::Mat still = keyframe_image(native.width_px, native.height_px);
  save_png(tmp / "key.png", still);
  // What the VAE makes of the still alone: what a conditioned first frame must be.
  const cv::Mat round_trip = decode_latent(rt, encode_frames(rt, {still})).front();

  storyboard::Shot first = text_shot("first", 1.0);
  first.keyframe = storyboard::Keyframe{"key.png", storyboard::KeyframeAt::First};
  storyboard::Shot last = first;
  last.keyframe->at = storyboard::KeyframeAt::Last;
  const auto conditioned = render_frames(request(board({first}), tmp / "first.mp4", g_models->ti2v_runtime));
  const auto at_end = render_frames(request(board({last}), tmp / "last.mp4", g_models->ti2v_runtime));
  const auto free = render_frames(request(board({text_shot("first", 1.0)}), tmp / "free.mp4", g_models->ti2v_runtime));
  ASSERT_EQ(conditioned.size(), 16u);
  const double kept = cv::PSNR(conditioned.front(), round_trip);
  EXPECT_GT(kept, 40.0);
  EXPECT_GT(kept, cv::PSNR(free.front(), round_trip) + 20.0);
  // A keyframe at the end changes the end, not the start (what the last latent frame decodes
  // to depends on the frames before it, so exact fidelity is checked on the latent below).
  ASSERT_EQ(at_end.size(), 16u);
  EXPECT_GT(mean_abs_diff(at_end.back(), free.back()), 1.0);
  EXPECT_GT(mean_abs_diff(conditioned.front(), free.front()), 1.0);
}

TEST(Generator, ConditionedLatentFramesAreKeptExactly) {
  for (const auto& runtime : {g_models->ti2v_runtime, g_models->t2v_runtime}) {
    const ModelRuntime& rt = *runtime;
    const ConditioningMethod method = rt.conditions_on_images() ? ConditioningMethod::CleanTokens
                                                                : ConditioningMethod::Replacement;
    SCOPED_TRACE(to_string(method));
    WindowRequest req;
    const std::vector<at::Tensor> text = runtime->encode_text({"a ring", ""});
    req.context = text[0];
    req.negative_context = text[1];
    req.frame_count = 17;
    req.size = {80, 48};
    req.sampling.steps = 4;
    req.sampling.guidance = 3;
    req.seed = 5;
    req.method = method;
    const at::Tensor first = encode_frames(rt, {keyframe_image(80, 48)});
    const at::Tensor last = encode_frames(rt, std::vector<cv::Mat>(5, keyframe_image(80, 48)))
                                .narrow(1, 1, 1);
    req.conditions = {{first, 0}, {last, 4}};
    const at::Tensor x = sample_window(rt, req);
    ASSERT_EQ(x.sizes(), (at::IntArrayRef{16, 5, 6, 10}));
    EXPECT_TRUE(x.narrow(1, 0, 1).equal(first));
    EXPECT_TRUE(x.narrow(1, 4, 1).equal(last));
    req.conditions.clear();
    const at::Tensor free = sample_window(rt, req);
    EXPECT_FALSE(free.narrow(1, 0, 1).allclose(first, 1e-2, 1e-2));
    // The generated frames between depend on the known ones (they are attended to).
    EXPECT_FALSE(free.narrow(1, 2, 1).allclose(x.narrow(1, 2, 1), 1e-4, 1e-4));
    // Out-of-window conditions are refused with the shapes named.
    req.conditions = {{first, 5}};
    EXPECT_THROW(sample_window(rt, req), Error);
  }
}

// A DiT that predicts the clean latent is sampled through the velocity its output implies: one
// Euler step from sigma0 to 0 lands exactly on the network's output, where the same network read
// as a velocity model lands on noise - sigma0 * output.
TEST(Generator, ACleanPredictingDiTIsSampledThroughItsVelocity) {
  models::ModelManifest clean_manifest = g_models->t2v_manifest;
  clean_manifest.dit.prediction = "clean";
  RuntimeOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  const auto clean = ModelRuntime::load(clean_manifest, options);
  ASSERT_EQ(clean->dit().config().prediction, models::WanPrediction::Clean);
  ModelRuntime& velocity = *g_models->t2v_runtime;
  ASSERT_EQ(velocity.dit().config().prediction, models::WanPrediction::Velocity);

  WindowRequest req;
  req.context = velocity.encode_text({"a ring"})[0];
  req.frame_count = 9;
  req.size = {80, 48};
  req.sampling.steps = 1;
  req.sampling.guidance = 1;
  req.sampling.shift = 3;
  req.sampling.solver = sampling::SolverKind::Euler;
  req.seed = 11;
  const at::Tensor from_velocity = sample_window(velocity, req);
  const at::Tensor from_clean = sample_window(*clean, req);
  const float sigma0 = sampling::make_scheduler({sampling::SolverKind::Euler, 1, 3.0})->sigma();
  const at::Tensor noise = sampling::make_noise(from_velocity.sizes(), req.seed);
  const at::Tensor output = (noise - from_velocity) / sigma0;
  EXPECT_TRUE(from_clean.allclose(output, 1e-4, 1e-4))
      << (from_clean - output).abs().max().item<double>();
  EXPECT_FALSE(from_clean.allclose(from_velocity, 1e-2, 1e-2));
}

TEST(Render, VideoToVideoAtStrengthZeroReturnsTheSource) {
  TempDir tmp;
  const ModelRuntime& rt = *g_models->t2v_runtime;
  write_moving_disc_clip(tmp / "src.mp4", 17, 3);
  const auto decoded_source = frames_of(tmp / "src.mp4");
  const std::vector<cv::Mat> round_trip = decode_latent(rt, encode_frames(rt, decoded_source));

  storyboard::Shot shot = text_shot("v", 1.0);
  shot.source_video = storyboard::SourceVideo{"src.mp4", 0.0};
  const auto out = render_frames(request(board({shot}), tmp / "out.mp4", g_models->t2v_runtime));
  ASSERT_EQ(out.size(), 16u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_GT(cv::PSNR(out[i], round_trip[i]), 40.0) << "frame " << i;
  }
  shot.source_video->strength = 1.0;  // ignores the source: far from it
  const auto free = render_frames(request(board({shot}), tmp / "free.mp4", g_models->t2v_runtime));
  EXPECT_LT(cv::PSNR(free[8], round_trip[8]), 25.0);
}

// Mean absolute difference between consecutive frames.
std::vector<double> frame_steps(const std::vector<cv::Mat>& frames) {
  std::vector<double> d;
  for (size_t i = 1; i < frames.size(); ++i) d.push_back(mean_abs_diff(frames[i - 1], frames[i]));
  return d;
}

TEST(Render, WindowsJoinWithoutAJump) {
  // Random weights make every frame noise, so the seam is measured on a video-to-video shot of a
  // smoothly moving disc: its frames change slowly, and a seam would show as a jump.
  TempDir tmp;
  write_moving_disc_clip(tmp / "src.mp4", 40, 2);
  for (const auto& runtime : {g_models->ti2v_runtime, g_models->t2v_runtime}) {
    SCOPED_TRACE(runtime->manifest().name);
    // 2 s at the native 16 fps: 32 frames from windows of 17 sharing 5 (0-16, 12-28, 24-32).
    storyboard::Shot shot = text_shot("long", 2.0);
    shot.source_video = storyboard::SourceVideo{"src.mp4", 0.3};
    RenderRequest r = request(board({shot}), tmp / "long.mp4", runtime);
    r.options.sampling.steps = 10;
    RenderResult result;
    const auto frames = render_frames(r, &result);
    EXPECT_EQ(result.windows_sampled, 3);
    ASSERT_EQ(frames.size(), 32u);
    const std::vector<double> steps = frame_steps(frames);
    // Inside the first window (steps 0..10) vs across each overlap and just after it.
    const double inside = *std::max_element(steps.begin(), steps.begin() + 11);
    for (int seam : {12, 24}) {
      const double across = *std::max_element(steps.begin() + seam, steps.begin() + seam + 6);
      EXPECT_LE(across, inside * 1.25 + 0.5) << "seam at frame " << seam << "; inside " << inside;
    }
  }
}

TEST(Render, CrossfadeHasItsLengthAndBlendsTheShots) {
  TempDir tmp;
  storyboard::Shot a = text_shot("a", 1.0), b = text_shot("b", 1.0, "a blue sky over the sea");
  b.transition = {storyboard::TransitionKind::Crossfade, 0.5};
  RenderJob(request(board({a, b}), tmp / "fade.mp4", g_models->t2v_runtime)).run();
  RenderJob(request(board({a}), tmp / "a.mp4", g_models->t2v_runtime)).run();
  storyboard::Shot b_alone = b;
  b_alone.transition = {};
  storyboard::Storyboard only_b = board({b_alone});
  RenderJob(request(only_b, tmp / "b.mp4", g_models->t2v_runtime)).run();
  const auto fade = frames_of(tmp / "fade.mp4");
  const auto fa = frames_of(tmp / "a.mp4");
  const auto fb = frames_of(tmp / "b.mp4");
  ASSERT_EQ(fade.size(), 24u);  // 1 + 1 - 0.5 s at 16 fps
  // Before the fade: shot a; after it: shot b; in the middle of it: the two blended.
  EXPECT_GT(cv::PSNR(fade[4], fa[4]), 35.0);
  EXPECT_GT(cv::PSNR(fade[20], fb[12]), 35.0);
  cv::Mat expected;
  cv::addWeighted(fa[12], 0.5 - 1.0 / 18, fb[4], 0.5 + 1.0 / 18, 0, expected);  // i=4 of 8
  EXPECT_GT(cv::PSNR(fade[12], expected), 30.0);
}

TEST(Render, CancellationLeavesNoFileAndResumeReusesTheSampledWindows) {
  TempDir tmp;
  const storyboard::Storyboard sb = board({text_shot("long", 2.0)});
  const fs::path out = tmp / "clip.mp4";
  CancellationToken cancel;
  int windows_started = 0;
  RenderRequest r = request(sb, out, g_models->t2v_runtime);
  RenderJob job(r);
  try {
    job.run(
        [&](const RenderProgress& p) {
          if (p.stage == "sample" && p.step == 0 && p.preview.empty()) ++windows_started;
          if (windows_started == 2 && p.stage == "sample" && p.step == 2) cancel.cancel();
        },
        cancel);
    FAIL() << "the job should have been cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
  EXPECT_FALSE(fs::exists(out));
  for (const std::string& name : testing::folder_entries(tmp.path())) {
    if (name == ".clip.mp4.job") continue;  // the job folder, kept on purpose
    EXPECT_EQ(name.find("clip.mp4"), std::string::npos) << "temporary left: " << name;
  }
  ASSERT_TRUE(fs::exists(job.job_dir() / "job.json"));

  // Resume from the folder alone (as `render --resume` does): window 1 comes from disk.
  RenderJob resumed = RenderJob::resume(job.job_dir());
  resumed.request().model = g_models->t2v_runtime;
  const RenderResult result = resumed.run();
  EXPECT_EQ(result.windows_reused, 1);
  EXPECT_EQ(result.windows_sampled, 2);
  RenderJob(request(sb, tmp / "straight.mp4", g_models->t2v_runtime)).run();
  EXPECT_TRUE(identical(frames_of(out), frames_of(tmp / "straight.mp4")));
  EXPECT_FALSE(fs::exists(job.job_dir()));
}

TEST(Render, PartialDeliveryGivesWhatWasSampled) {
  TempDir tmp;
  const storyboard::Storyboard sb = board({text_shot("a", 1.0), text_shot("b", 1.0, "a ring")});
  const fs::path out = tmp / "clip.mp4";
  CancellationToken cancel;
  RenderJob job(request(sb, out, g_models->t2v_runtime));
  EXPECT_THROW(job.run(
                   [&](const RenderProgress& p) {
                     if (p.stage == "sample" && p.shot == 1) cancel.cancel();
                   },
                   cancel),
               Error);
  RenderJob partial = RenderJob::resume(job.job_dir());
  partial.request().model = g_models->t2v_runtime;
  partial.request().deliver_partial = true;
  const RenderResult result = partial.run();
  EXPECT_TRUE(result.partial);
  EXPECT_EQ(result.windows_sampled, 0);
  EXPECT_EQ(frames_of(out).size(), 16u);  // shot a only
  EXPECT_TRUE(fs::exists(job.job_dir()));  // kept: shot b can still be rendered
  // The partial delivery is signed as one.
  ASSERT_EQ(result.provenance, safety::provenance_path(out));
  const safety::ProvenanceManifest signed_partial =
      safety::ProvenanceManifest::load(result.provenance);
  EXPECT_TRUE(signed_partial.partial);
  EXPECT_TRUE(safety::check_provenance(signed_partial, out).content_matches);

  // A job cancelled before its first window has nothing to deliver: a clear error, no file.
  CancellationToken early;
  RenderJob empty(request(sb, tmp / "empty.mp4", g_models->t2v_runtime));
  EXPECT_THROW(empty.run(
                   [&](const RenderProgress& p) {
                     if (p.stage == "sample") early.cancel();
                   },
                   early),
               Error);
  RenderJob nothing = RenderJob::resume(empty.job_dir());
  nothing.request().model = g_models->t2v_runtime;
  nothing.request().deliver_partial = true;
  try {
    nothing.run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(e.message().find("no finished window"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(tmp / "empty.mp4"));
}

TEST(Render, ContinuityStartsFromThePreviousShotsLastFrame) {
  TempDir tmp;
  const ModelRuntime& rt = *g_models->ti2v_runtime;
  storyboard::Shot a = text_shot("a", 1.0), b = text_shot("b", 1.0, "a ring spins");
  storyboard::Shot b_cut = b;
  b.continuity = storyboard::Continuity::Continue;
  const auto cont = render_frames(request(board({a, b}), tmp / "cont.mp4", g_models->ti2v_runtime));
  const auto cut = render_frames(request(board({a, b_cut}), tmp / "cut.mp4", g_models->ti2v_runtime));
  ASSERT_EQ(cont.size(), 32u);
  ASSERT_EQ(cut.size(), 32u);
  // Shot b's first frame is shot a's last one, through the VAE.
  const cv::Mat carried = decode_latent(rt, encode_frames(rt, {cont[15]})).front();
  EXPECT_GT(cv::PSNR(cont[16], carried), 40.0);
  EXPECT_LT(cv::PSNR(cut[16], carried), 25.0);
  EXPECT_GT(cv::PSNR(cont[15], cut[15]), 60.0);  // shot a is the same either way
}

TEST(RenderErrors, KeyframeWithAModelThatCannotConditionOnImages) {
  TempDir tmp;
  save_png(tmp / "key.png", keyframe_image(80, 48));
  storyboard::Shot shot = text_shot("a", 1.0);
  shot.keyframe = storyboard::Keyframe{"key.png", storyboard::KeyframeAt::First};
  try {
    RenderJob(request(board({shot}), tmp / "out.mp4", g_models->t2v_runtime)).run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
    EXPECT_NE(e.message().find("cannot condition on images"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(tmp / "out.mp4"));
}

TEST(RenderErrors, MissingModelListsTheInstalledOnes) {
  TempDir tmp;
  RenderRequest r = request(board({text_shot("a", 1.0)}), tmp / "out.mp4", g_models->t2v_runtime);
  r.model.reset();
  r.storyboard.project.model = "no-such-model";
  try {
    RenderJob(r).run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(e.message().find("no-such-model"), std::string::npos) << e.message();
  }
}

TEST(RenderErrors, UnreadableKeyframeIsNamed) {
  TempDir tmp;
  {
    std::ofstream f(tmp / "key.png");
    f << "not an image";
  }
  storyboard::Shot shot = text_shot("a", 1.0);
  shot.keyframe = storyboard::Keyframe{"key.png", storyboard::KeyframeAt::First};
  try {
    RenderJob(request(board({shot}), tmp / "out.mp4", g_models->ti2v_runtime)).run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("/shots/0/keyframe/path"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(tmp / "out.mp4"));
}

TEST(RenderProgressEvents, StagesFractionEtaAndPreviews) {
  TempDir tmp;
  std::vector<RenderProgress> events;
  RenderJob(request(board({text_shot("a", 1.0)}), tmp / "p.mp4", g_models->t2v_runtime))
      .run([&](const RenderProgress& p) { events.push_back(p); });
  std::set<std::string> stages;
  int previews = 0;
  double last_fraction = 0;
  bool monotonic = true;
  for (const RenderProgress& p : events) {
    stages.insert(p.stage);
    if (!p.preview.empty()) {
      ++previews;
      EXPECT_EQ(p.preview.cols, 80);
      EXPECT_EQ(p.preview.rows, 48);
    }
    if (p.fraction + 1e-9 < last_fraction) monotonic = false;
    last_fraction = std::max(last_fraction, p.fraction);
  }
  for (const char* s : {"text", "sample", "decode", "post", "encode", "done"}) {
    EXPECT_TRUE(stages.count(s)) << s;
  }
  EXPECT_GE(previews, 2);  // every 2 of the 4 steps
  EXPECT_EQ(events.back().fraction, 1.0);
  EXPECT_TRUE(monotonic);
}

}  // namespace
}  // namespace reelforge::pipeline

namespace reelforge::pipeline {
namespace {

TEST(ModelRuntimeMemory, LowModeReleasesTheTextEncoderAfterEncoding) {
  for (MemoryMode mode : {MemoryMode::Low, MemoryMode::Normal}) {
    SCOPED_TRACE(to_string(mode));
    RuntimeOptions options;
    options.device = Device::CPU;
    options.dtype = ComputeDType::Float32;
    options.memory = mode;
    auto runtime = ModelRuntime::load(g_models->t2v_manifest, options);
    EXPECT_EQ(runtime->memory_mode(), mode);
    EXPECT_FALSE(runtime->text_encoder_loaded());  // loaded on first use only
    TempDir tmp;
    std::vector<cv::Mat> frames =
        render_frames(request(board({text_shot("a", 0.5)}), tmp / "m.mp4", runtime));
    EXPECT_EQ(frames.size(), 8u);
    EXPECT_EQ(runtime->text_encoder_loaded(), mode == MemoryMode::Normal);
    // Prompts stay cached either way; a released encoder is loaded again for a new prompt.
    EXPECT_EQ(runtime->encode_text({"a brand new prompt"}).size(), 1u);
    EXPECT_TRUE(runtime->text_encoder_loaded());
  }
  EXPECT_THROW(parse_memory_mode("tiny"), Error);
}

}  // namespace
}  // namespace reelforge::pipeline

namespace reelforge::pipeline {
namespace {

std::vector<std::string> audit_lines() {
  std::ifstream in(moderation_audit_log_path());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(RenderSafety, ABlockedPromptStopsBeforeTheModelLoadsAndNamesShotAndCategory) {
  TempDir tmp;
  const size_t audited_before = audit_lines().size();
  const storyboard::Shot gore = text_shot("gore", 1.0, "a man is decapitated in the street");
  RenderRequest r =
      request(board({text_shot("calm", 1.0), gore}), tmp / "out.mp4", g_models->t2v_runtime);
  // No model to load: if moderation came after loading, this would fail with NotFound instead.
  r.model.reset();
  r.storyboard.project.model = "no-such-model";
  try {
    RenderJob(r).run();
    FAIL() << "the prompt should have been blocked";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation);
    EXPECT_NE(e.message().find("shot 2 (\"gore\")"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("graphic_violence"), std::string::npos) << e.message();
  }
  EXPECT_TRUE(testing::folder_entries(tmp.path()).empty());  // no clip, job folder or sidecar
  const std::vector<std::string> lines = audit_lines();
  ASSERT_EQ(lines.size(), audited_before + 2);
  const nlohmann::json ok = nlohmann::json::parse(lines[lines.size() - 2]);
  const nlohmann::json blocked = nlohmann::json::parse(lines.back());
  EXPECT_EQ(ok.at("shot"), "calm");
  EXPECT_EQ(ok.at("verdict"), "allowed");
  EXPECT_EQ(blocked.at("shot"), "gore");
  EXPECT_EQ(blocked.at("verdict"), "blocked");
  EXPECT_EQ(blocked.at("category"), "graphic_violence");
  EXPECT_EQ(lines.back().find("decapitated"), std::string::npos);  // the prompt is not stored

  // Another policy file is honoured: one that blocks the word "ball".
  nlohmann::json policy = {
      {"version", 1},
      {"categories",
       {{{"id", "no_balls"}, {"description", "balls are not allowed here"}, {"words", {"ball"}}}}},
      {"allow", nlohmann::json::array()}};
  {
    std::ofstream f(tmp / "policy.json");
    f << policy.dump();
  }
  RenderRequest custom =
      request(board({text_shot("a", 1.0)}), tmp / "ball.mp4", g_models->t2v_runtime);
  custom.moderation_policy = tmp / "policy.json";
  try {
    RenderJob(custom).run();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("balls are not allowed here"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(tmp / "ball.mp4"));
}

// Flips one byte near the end of a copy of the clip (and copies its sidecar beside it).
fs::path modified_copy(const fs::path& clip, const fs::path& copy) {
  fs::copy_file(clip, copy);
  fs::copy_file(safety::provenance_path(clip), safety::provenance_path(copy));
  std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-300, std::ios::end);
  const char c = static_cast<char>(f.get());
  f.seekp(-300, std::ios::end);
  f.put(static_cast<char>(c ^ 0x5a));
  return copy;
}

TEST(RenderSafety, EveryRenderIsWatermarkedSignedAndVerifiable) {
  TempDir tmp;
  // 1080p output (the watermark needs more than the models' 80x48): 1 s at 8 fps.
  const storyboard::Storyboard sb =
      board({text_shot("a", 1.0)}, media::Aspect::Wide, storyboard::QualityPreset::Final, 8);
  RenderRequest r = request(sb, tmp / "clip.mp4", g_models->t2v_runtime);
  r.options.crf = 18;
  const RenderResult result = RenderJob(r).run();
  ASSERT_EQ(result.provenance, safety::provenance_path(tmp / "clip.mp4"));
  ASSERT_TRUE(fs::exists(result.provenance));
  EXPECT_EQ(result.generation_id, 0x5eed1234u);
  for (const std::string& name : testing::folder_entries(tmp.path())) {
    EXPECT_TRUE(name == "clip.mp4" || name == "clip.mp4.provenance.json") << "left: " << name;
  }

  const safety::VerifyReport report = safety::verify_clip(tmp / "clip.mp4");
  EXPECT_EQ(report.verdict, safety::VerifyVerdict::SignedAndIntact) << report.manifest_problem;
  EXPECT_TRUE(report.watermark.found) << "confidence " << report.watermark.confidence;
  EXPECT_EQ(report.watermark.payload.install_id, result.install_id);
  EXPECT_EQ(report.watermark.payload.generation_id, result.generation_id);
  ASSERT_TRUE(report.ids_match.has_value());
  EXPECT_TRUE(*report.ids_match);
  ASSERT_TRUE(report.manifest.has_value());
  const safety::ProvenanceManifest& m = *report.manifest;
  EXPECT_EQ(m.model_name, "tiny-t2v");
  EXPECT_EQ(m.model_hash, safety::model_hash(g_models->t2v_manifest.dir));
  ASSERT_EQ(m.prompts.size(), 1u);
  EXPECT_EQ(m.prompts[0].prompt, "a red ball rolls left");
  EXPECT_EQ(m.prompts[0].seeds.size(), 1u);
  EXPECT_EQ(m.seed, 42u);
  EXPECT_FALSE(m.partial);
  EXPECT_EQ(m.install_id, safety::InstallIdentity::load_or_create().install_id());

  // A changed file: the signature still holds, the content does not.
  modified_copy(tmp / "clip.mp4", tmp / "modified.mp4");
  EXPECT_EQ(safety::verify_clip(tmp / "modified.mp4").verdict,
            safety::VerifyVerdict::SignedButModified);

  // The command line: verdicts and exit codes.
  testing::RunResult run = testing::run_cli({"verify", (tmp / "clip.mp4").string()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("signed and intact"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(match the manifest)"), std::string::npos) << run.out;
  run = testing::run_cli({"verify", (tmp / "modified.mp4").string()});
  EXPECT_EQ(run.exit_code, 10) << run.out << run.err;
  EXPECT_NE(run.out.find("signed but modified"), std::string::npos) << run.out;
  // Without its sidecar the mark still tells it apart.
  fs::copy_file(tmp / "clip.mp4", tmp / "bare.mp4");
  run = testing::run_cli({"verify", (tmp / "bare.mp4").string(), "--json"});
  EXPECT_EQ(run.exit_code, 11) << run.out << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j.at("verdict"), "watermark only");
  EXPECT_EQ(j.at("watermark").at("found"), true);
  // A clip ReelForge did not make.
  media::VideoWriterOptions plain;
  plain.size = {640, 360};
  plain.fps = {24, 1};
  plain.preset = "ultrafast";
  testing::write_clip(tmp / "plain.mp4", plain, 12,
                      [](int i) { return testing::index_frame(i, 640, 360); });
  run = testing::run_cli({"verify", (tmp / "plain.mp4").string()});
  EXPECT_EQ(run.exit_code, 12) << run.out << run.err;
  EXPECT_NE(run.out.find("nothing found"), std::string::npos) << run.out;
  // --manifest names another sidecar.
  run = testing::run_cli(
      {"verify", (tmp / "bare.mp4").string(), "--manifest", result.provenance.string()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
}

TEST(RenderSafety, VisibleBadgeIsOptionalAndInTheCorner) {
  TempDir tmp;
  const storyboard::Storyboard sb = board({text_shot("a", 0.5)});
  RenderRequest r = request(sb, tmp / "plain.mp4", g_models->t2v_runtime);
  const std::vector<cv::Mat> plain = render_frames(r);
  r.output = tmp / "badge.mp4";
  r.visible_watermark = true;
  r.generation_id = 0;  // a new random id, so the invisible marks differ too
  RenderResult badge_result;
  const std::vector<cv::Mat> badge = render_frames(r, &badge_result);
  EXPECT_NE(badge_result.generation_id, 0u);
  EXPECT_NE(badge_result.generation_id, 0x5eed1234u);
  ASSERT_EQ(plain.size(), badge.size());
  ASSERT_FALSE(plain.empty());
  const cv::Mat& a = plain.front();
  const cv::Mat& b = badge.front();
  const cv::Rect top(0, 0, a.cols, a.rows / 3), bottom(0, a.rows * 2 / 3, a.cols, a.rows / 3);
  // Only the invisible marks (different generation ids) differ at the top.
  EXPECT_LT(mean_abs_diff(a(top), b(top)), 2.0);
  EXPECT_GT(mean_abs_diff(a(bottom), b(bottom)), 8.0);
}

TEST(RenderSafety, GenerateCommandTakesThePolicyAndTheBadge) {
  TempDir tmp;
  const std::string model = g_models->t2v_manifest.dir.string();
  const fs::path out = tmp / "out.mp4";
  testing::RunResult r = testing::run_cli(
      {"generate", "a man is decapitated in the street", "-o", out.string(), "--model", model});
  EXPECT_EQ(r.exit_code, exit_code_for(ErrorCategory::Validation)) << r.out << r.err;
  EXPECT_NE(r.err.find("graphic_violence"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  {
    std::ofstream f(tmp / "policy.json");
    f << R"({"version": 1, "categories": [{"id": "no_balls", "description": "no balls here",
            "words": ["ball"]}], "allow": []})";
  }
  const std::vector<std::string> ball = {"generate", "a red ball rolls left", "-o", out.string(),
                                         "--model", model, "--draft", "--duration", "0.5",
                                         "--steps", "2", "--seed", "3", "--preset", "ultrafast"};
  std::vector<std::string> args = ball;
  args.insert(args.end(), {"--moderation-policy", (tmp / "policy.json").string()});
  r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, exit_code_for(ErrorCategory::Validation)) << r.out << r.err;
  EXPECT_NE(r.err.find("no balls here"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  args = ball;
  args.push_back("--visible-watermark");
  r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("signed: " + safety::provenance_path(out).string()), std::string::npos)
      << r.out;
  const nlohmann::json sidecar = nlohmann::json::parse(read_file(safety::provenance_path(out)));
  EXPECT_EQ(sidecar.at("prompts").at(0).at("prompt"), "a red ball rolls left");
  r = testing::run_cli({"verify", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace reelforge::pipeline
