// Upscaling to output presets: sizes, Lanczos equivalence, unsharp mask behaviour, buffer reuse.

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/post_benchmark.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/media/upscale.hpp"

using namespace reelforge;
using namespace reelforge::media;

namespace {

// Detail at several scales: smoothed noise plus hard-edged rectangles.
cv::Mat detailed_frame(int width, int height, uint64_t seed = 7) {
  cv::Mat frame(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(frame, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(frame, frame, cv::Size(0, 0), 1.5);
  for (int i = 0; i < 12; ++i) {
    const cv::Point p(rng.uniform(0, width), rng.uniform(0, height));
    cv::rectangle(frame, p, p + cv::Point(width / 8, height / 8),
                  cv::Scalar(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256)),
                  cv::FILLED);
  }
  return frame;
}

// Energy of the high frequencies: mean squared Laplacian, summed over the channels.
double high_frequency_energy(const cv::Mat& rgb) {
  cv::Mat lap;
  cv::Laplacian(rgb, lap, CV_32F);
  const cv::Scalar e = cv::mean(lap.mul(lap));
  return e[0] + e[1] + e[2];
}

bool identical(const cv::Mat& x, const cv::Mat& y) {
  return x.size() == y.size() && x.type() == y.type() && cv::norm(x, y, cv::NORM_INF) == 0;
}

UpscaleOptions plain(Fit fit = Fit::Fill) {
  UpscaleOptions o;
  o.fit = fit;
  o.sharpen_amount = 0;
  return o;
}

}  // namespace

TEST(MediaUpscale, OutputSizeForEveryPresetAndSourceAspect) {
  const cv::Size sources[] = {{832, 480}, {480, 832}, {512, 512}, {64, 32}};
  for (const cv::Size source : sources) {
    const cv::Mat frame = detailed_frame(source.width, source.height);
    for (Aspect aspect : {Aspect::Wide, Aspect::Vertical, Aspect::Square}) {
      const FrameSize size = preset_size(aspect, Resolution::P1080);
      for (Fit fit : {Fit::Fill, Fit::Letterbox}) {
        UpscaleOptions o;
        o.fit = fit;
        const cv::Mat out = upscale(frame, size, o);
        EXPECT_EQ(out.size(), cv::Size(size.width_px, size.height_px))
            << source << " -> " << to_string(aspect);
        EXPECT_EQ(out.type(), CV_8UC3);
      }
    }
  }
  EXPECT_EQ(upscale(detailed_frame(832, 480), {1920, 1080}).size(), cv::Size(1920, 1080));
}

TEST(MediaUpscale, AmountZeroIsPlainLanczos) {
  const cv::Mat same_aspect = detailed_frame(960, 540);
  cv::Mat lanczos;
  cv::resize(same_aspect, lanczos, cv::Size(1920, 1080), 0, 0, cv::INTER_LANCZOS4);
  EXPECT_TRUE(identical(upscale(same_aspect, {1920, 1080}, plain()), lanczos));
  // With cropping or bars: exactly what reframe makes.
  const cv::Mat native = detailed_frame(832, 480);
  for (Fit fit : {Fit::Fill, Fit::Letterbox}) {
    for (FrameSize size : {FrameSize{1920, 1080}, FrameSize{1080, 1920}, FrameSize{1080, 1080}}) {
      EXPECT_TRUE(identical(upscale(native, size, plain(fit)), reframe(native, size, fit)))
          << size.width_px << "x" << size.height_px;
    }
  }
}

TEST(MediaUpscale, SharpeningAddsDetailButKeepsFlatColours) {
  const cv::Mat native = detailed_frame(832, 480);
  const cv::Mat soft = upscale(native, {1920, 1080}, plain());
  const cv::Mat sharp = upscale(native, {1920, 1080});
  const double soft_energy = high_frequency_energy(soft);
  const double sharp_energy = high_frequency_energy(sharp);
  EXPECT_GT(sharp_energy, soft_energy * 1.15) << soft_energy << " vs " << sharp_energy;
  // Stronger sharpening, more energy.
  UpscaleOptions strong;
  strong.sharpen_amount = 1.0;
  EXPECT_GT(high_frequency_energy(upscale(native, {1920, 1080}, strong)), sharp_energy);

  // Two flat halves: inside each, the colour is unchanged (within a level) by the mask.
  cv::Mat halves(480, 832, CV_8UC3, cv::Scalar(200, 60, 30));
  halves(cv::Rect(416, 0, 416, 480)).setTo(cv::Scalar(20, 120, 220));
  const cv::Mat up = upscale(halves, {1920, 1080});
  const cv::Rect left(100, 100, 700, 880), right(1120, 100, 700, 880);
  const cv::Scalar left_mean = cv::mean(up(left)), right_mean = cv::mean(up(right));
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(left_mean[c], cv::Scalar(200, 60, 30)[c], 1.0);
    EXPECT_NEAR(right_mean[c], cv::Scalar(20, 120, 220)[c], 1.0);
  }
  // And the edge between them does get crisper.
  EXPECT_GT(high_frequency_energy(up),
            high_frequency_energy(upscale(halves, {1920, 1080}, plain())));
}

TEST(MediaUpscale, SameSizeAndShrinkingAreNotSharpened) {
  const cv::Mat frame = detailed_frame(640, 360);
  EXPECT_TRUE(identical(upscale(frame, {640, 360}), frame));
  EXPECT_TRUE(identical(upscale(frame, {320, 180}), reframe(frame, {320, 180}, Fit::Fill)));
  EXPECT_TRUE(identical(upscale(frame, {360, 360}), reframe(frame, {360, 360}, Fit::Fill)));
}

TEST(MediaUpscale, LetterboxBarsStayBlackAndThePictureHasNoHalo) {
  // A flat picture stays flat right up to its edges: the blur never sees the bars.
  const cv::Mat grey(100, 100, CV_8UC3, cv::Scalar::all(128));
  UpscaleOptions o;
  o.fit = Fit::Letterbox;
  o.sharpen_amount = 1.0;
  const cv::Mat out = upscale(grey, {1920, 1080}, o);
  cv::Mat picture_error;
  cv::absdiff(out(cv::Rect(420, 0, 1080, 1080)), cv::Scalar::all(128), picture_error);
  EXPECT_EQ(cv::countNonZero(picture_error.reshape(1)), 0);
  EXPECT_EQ(cv::countNonZero(out(cv::Rect(0, 0, 420, 1080)).reshape(1)), 0);
  EXPECT_EQ(cv::countNonZero(out(cv::Rect(1500, 0, 420, 1080)).reshape(1)), 0);
}

TEST(MediaUpscale, UpscalerReusesTheOutputBuffer) {
  Upscaler upscaler({1280, 720});
  const cv::Mat first = detailed_frame(832, 480, 1), second = detailed_frame(832, 480, 2);
  cv::Mat out;
  upscaler.run(first, out);
  const uchar* buffer = out.data;
  EXPECT_TRUE(identical(out, upscale(first, {1280, 720})));
  upscaler.run(second, out);
  EXPECT_EQ(out.data, buffer);
  EXPECT_TRUE(identical(out, upscale(second, {1280, 720})));
  // A letterboxing upscaler reusing a buffer must re-blacken the bars.
  UpscaleOptions o;
  o.fit = Fit::Letterbox;
  Upscaler boxed({1080, 1080}, o);
  cv::Mat reused(1080, 1080, CV_8UC3, cv::Scalar::all(255));
  boxed.run(first, reused);
  EXPECT_TRUE(identical(reused, upscale(first, {1080, 1080}, o)));
}

TEST(MediaUpscale, RejectsBadInput) {
  const auto expect_invalid = [](auto&& f, const char* what) {
    try {
      f();
      ADD_FAILURE() << what << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << what;
    }
  };
  const cv::Mat frame = detailed_frame(64, 32);
  expect_invalid([&] { upscale(cv::Mat(), {128, 64}); }, "empty");
  expect_invalid([&] { upscale(cv::Mat(32, 64, CV_8UC1), {128, 64}); }, "grey");
  expect_invalid([&] { upscale(frame, {0, 64}); }, "zero width");
  UpscaleOptions o;
  o.sharpen_amount = -0.1;
  expect_invalid([&] { upscale(frame, {128, 64}, o); }, "negative amount");
  o.sharpen_amount = 0.5;
  o.sharpen_sigma_px = 0;
  expect_invalid([&] { upscale(frame, {128, 64}, o); }, "zero sigma");
}

TEST(MediaUpscale, PostBenchmarkRunsOnTinyFrames) {
  PostBenchmarkOptions o;
  o.native_size = {64, 32};
  o.source_frames = 5;
  o.output_size = {128, 64};
  const PostBenchmarkResult r = run_post_benchmark(o);
  EXPECT_EQ(r.source_frames, 5);
  EXPECT_EQ(r.output_frames, 7);  // floor(5 * 24 / 16)
  // Every pair between the 5 frames is needed once (positions 2/3, 4/3, 8/3, 10/3).
  EXPECT_EQ(r.interpolation.flow_pairs + r.interpolation.fallback_pairs, 4);
  EXPECT_GE(r.retime_s, 0);
  EXPECT_GE(r.upscale_s, 0);
  EXPECT_DOUBLE_EQ(r.upscale_s_per_frame, r.upscale_s / 7);
  o.source_frames = 1;
  EXPECT_THROW(run_post_benchmark(o), Error);
}
