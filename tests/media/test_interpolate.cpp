// Frame interpolation and retiming: motion-compensated in-betweens against truly rendered ones,
// exact source frames where positions coincide, fallbacks, and input validation.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/interpolate.hpp"
#include "support/media_testing.hpp"

using namespace reelforge;
using namespace reelforge::media;
namespace rft = reelforge::testing;

using reelforge::testing::expect_invalid_argument;

namespace {

constexpr int kWidth = 128;
constexpr int kHeight = 96;

// A white disc on a dark background, centred at a sub-pixel x (anti-aliased), so the true
// in-between frame can be rendered for comparison.
cv::Mat disc_frame(double x, int radius_px = 12, int width = kWidth, int height = kHeight) {
  cv::Mat frame(height, width, CV_8UC3, cv::Scalar::all(20));
  constexpr int kShift = 4;  // 4 fractional bits
  cv::circle(frame, cv::Point(int(std::lround(x * 16)), int(std::lround(height / 2.0 * 16))),
             radius_px * 16, cv::Scalar::all(240), cv::FILLED, cv::LINE_AA, kShift);
  return frame;
}

cv::Mat grey_of(const cv::Mat& rgb) {
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  return grey;
}

// Centroid x of the pixels brighter than `level`; NaN when there are none.
double centroid_x(const cv::Mat& rgb, int level = 128) {
  const cv::Moments m = cv::moments(grey_of(rgb) > level, true);
  return m.m00 > 0 ? m.m10 / m.m00 : std::numeric_limits<double>::quiet_NaN();
}

// Connected blobs brighter than `level`.
int blob_count(const cv::Mat& rgb, int level) {
  cv::Mat labels;
  return cv::connectedComponents(grey_of(rgb) > level, labels) - 1;  // minus the background
}

bool identical(const cv::Mat& x, const cv::Mat& y) {
  return x.size() == y.size() && x.type() == y.type() && cv::norm(x, y, cv::NORM_INF) == 0;
}

}  // namespace

TEST(MediaInterpolate, MethodNamesRoundTrip) {
  for (auto m : {InterpolationMethod::MotionCompensated, InterpolationMethod::Blend,
                 InterpolationMethod::Nearest}) {
    EXPECT_EQ(parse_interpolation_method(to_string(m)), m);
  }
  EXPECT_EQ(parse_interpolation_method("motion"), InterpolationMethod::MotionCompensated);
  try {
    parse_interpolation_method("cubic");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(e.message().find("flow"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("nearest"), std::string::npos) << e.message();
  }
}

TEST(MediaInterpolate, MotionCompensatedMidpointBeatsBlend) {
  const cv::Mat a = disc_frame(40), b = disc_frame(48), truth = disc_frame(44);
  FrameInterpolator flow(InterpolationMethod::MotionCompensated);
  FrameInterpolator blend(InterpolationMethod::Blend);
  const cv::Mat mc = flow.between(a, b, 0.5);
  const cv::Mat blended = blend.between(a, b, 0.5);
  EXPECT_EQ(flow.stats().flow_pairs, 1);
  EXPECT_EQ(flow.stats().fallback_pairs, 0);

  EXPECT_NEAR(centroid_x(mc), 44.0, 1.5);
  // The disc keeps its full brightness and size; the blend's bright core is only where the two
  // discs overlap, with half-bright crescents either side.
  const double mc_psnr = cv::PSNR(mc, truth), blend_psnr = cv::PSNR(blended, truth);
  EXPECT_GT(mc_psnr, 35.0);
  EXPECT_GT(mc_psnr, blend_psnr + 10.0) << "blend " << blend_psnr;
  const int mc_bright = cv::countNonZero(grey_of(mc) > 200);
  const int truth_bright = cv::countNonZero(grey_of(truth) > 200);
  const int blend_bright = cv::countNonZero(grey_of(blended) > 200);
  EXPECT_NEAR(mc_bright, truth_bright, truth_bright * 0.05);
  EXPECT_LT(blend_bright, truth_bright * 0.8);
}

TEST(MediaInterpolate, FastSmallObjectBlendGhostsTwiceFlowDoesNot) {
  // A small disc moving farther than its diameter: the blend shows it twice at half brightness.
  const int w = 256, h = 192, r = 6;
  const cv::Mat a = disc_frame(80, r, w, h), b = disc_frame(96, r, w, h),
                truth = disc_frame(88, r, w, h);
  const cv::Mat blended = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.5);
  EXPECT_EQ(blob_count(blended, 100), 2);
  EXPECT_EQ(cv::countNonZero(grey_of(blended) > 200), 0);

  FrameInterpolator flow(InterpolationMethod::MotionCompensated);
  const cv::Mat mc = flow.between(a, b, 0.5);
  EXPECT_EQ(blob_count(mc, 100), 1);
  EXPECT_NEAR(centroid_x(mc), 88.0, 1.5);
  EXPECT_GT(cv::PSNR(mc, truth), cv::PSNR(blended, truth) + 10.0);
}

TEST(MediaInterpolate, MotionBeyondTheFlowRangeDegradesToTheBlend) {
  // At 128x96 DIS's pyramid is too shallow to find a 16 px disc 24 px away. Where the warps then
  // disagree the pixels are blended, so the result is about as good as the blend, not worse.
  const cv::Mat a = disc_frame(40, 8), b = disc_frame(64, 8), truth = disc_frame(52, 8);
  const cv::Mat mc = FrameInterpolator(InterpolationMethod::MotionCompensated).between(a, b, 0.5);
  const cv::Mat blended = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.5);
  EXPECT_GT(cv::PSNR(mc, truth), cv::PSNR(blended, truth) - 1.5);
}

TEST(MediaInterpolate, PanningTextureBeatsBlend) {
  // Footage-like: a textured background panning 6 px per frame under a disc moving 12 px.
  cv::Mat texture(192 + 64, 256 + 64, CV_8UC3);
  cv::RNG rng(11);
  rng.fill(texture, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(texture, texture, cv::Size(0, 0), 2.5);
  cv::normalize(texture, texture, 0, 255, cv::NORM_MINMAX);
  const auto scene = [&](double x) {
    cv::Mat panned;
    const cv::Matx23d shift(1, 0, -x / 2, 0, 1, 0);
    cv::warpAffine(texture, panned, shift, texture.size(), cv::INTER_CUBIC, cv::BORDER_REFLECT);
    cv::Mat frame = panned(cv::Rect(32, 32, 256, 192)).clone();
    cv::circle(frame, cv::Point(int(std::lround(x * 16)), 96 * 16), 20 * 16, cv::Scalar::all(240),
               cv::FILLED, cv::LINE_AA, 4);
    return frame;
  };
  const cv::Mat a = scene(80), b = scene(92), truth = scene(86);
  const cv::Mat mc = FrameInterpolator(InterpolationMethod::MotionCompensated).between(a, b, 0.5);
  const cv::Mat blended = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.5);
  // Measured: 33.8 dB against 24.0 dB.
  EXPECT_GT(cv::PSNR(mc, truth), cv::PSNR(blended, truth) + 6.0);
}

TEST(MediaInterpolate, QuarterPositionsFollowTheMotion) {
  const cv::Mat a = disc_frame(40), b = disc_frame(48);
  FrameInterpolator flow(InterpolationMethod::MotionCompensated);
  for (double t : {0.25, 0.75}) {
    const cv::Mat mc = flow.between(a, b, t);
    EXPECT_NEAR(centroid_x(mc), 40 + 8 * t, 1.5) << "t " << t;
    EXPECT_GT(cv::PSNR(mc, disc_frame(40 + 8 * t)), 30.0) << "t " << t;
  }
}

TEST(MediaInterpolate, FlowIsComputedOncePerPair) {
  const cv::Mat a = disc_frame(40), b = disc_frame(48);
  FrameInterpolator flow(InterpolationMethod::MotionCompensated);
  const cv::Mat first = flow.between(a, b, 1.0 / 3);
  // Fresh copies of the same pixels are the same pair.
  flow.between(a.clone(), b.clone(), 2.0 / 3);
  EXPECT_EQ(flow.stats().flow_pairs, 1);
  EXPECT_TRUE(identical(flow.between(a, b, 1.0 / 3), first));
  // The reversed pair is another pair.
  flow.between(b, a, 0.5);
  EXPECT_EQ(flow.stats().flow_pairs, 2);
}

TEST(MediaInterpolate, EndpointsAreExactCopies) {
  const cv::Mat a = disc_frame(40), b = disc_frame(48);
  for (auto m : {InterpolationMethod::MotionCompensated, InterpolationMethod::Blend,
                 InterpolationMethod::Nearest}) {
    FrameInterpolator interpolator(m);
    const cv::Mat at0 = interpolator.between(a, b, 0.0);
    const cv::Mat at1 = interpolator.between(a, b, 1.0);
    EXPECT_TRUE(identical(at0, a)) << to_string(m);
    EXPECT_TRUE(identical(at1, b)) << to_string(m);
    EXPECT_NE(at0.data, a.data) << "a copy, not a view";
  }
}

TEST(MediaInterpolate, BlendAndNearestValues) {
  const cv::Mat a(8, 8, CV_8UC3, cv::Scalar(100, 50, 0)),
      b(8, 8, CV_8UC3, cv::Scalar(200, 150, 40));
  const cv::Mat mid = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.5);
  EXPECT_EQ(mid.at<cv::Vec3b>(3, 3), cv::Vec3b(150, 100, 20));
  const cv::Mat quarter = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.25);
  EXPECT_EQ(quarter.at<cv::Vec3b>(3, 3), cv::Vec3b(125, 75, 10));
  FrameInterpolator nearest(InterpolationMethod::Nearest);
  EXPECT_TRUE(identical(nearest.between(a, b, 0.49), a));
  EXPECT_TRUE(identical(nearest.between(a, b, 0.5), b));
}

TEST(MediaInterpolate, StillFramesStayExact) {
  // Nothing moves: the flow cannot beat the frames themselves, so the pair is blended, which for
  // equal frames is the frame.
  const cv::Mat a = disc_frame(40);
  FrameInterpolator flow(InterpolationMethod::MotionCompensated);
  EXPECT_TRUE(identical(flow.between(a, a.clone(), 0.5), a));
  EXPECT_EQ(flow.stats().fallback_pairs, 1);
}

TEST(MediaInterpolate, TinyFramesFallBackToBlend) {
  for (int side : {1, 8, 12, 16, 24}) {
    const cv::Mat a = disc_frame(side * 0.4, std::max(1, side / 6), side, side);
    const cv::Mat b = disc_frame(side * 0.6, std::max(1, side / 6), side, side);
    FrameInterpolator flow(InterpolationMethod::MotionCompensated);
    const cv::Mat mc = flow.between(a, b, 0.5);
    const cv::Mat blended = FrameInterpolator(InterpolationMethod::Blend).between(a, b, 0.5);
    EXPECT_TRUE(identical(mc, blended)) << side;
    EXPECT_EQ(flow.stats().fallback_pairs, 1) << side;
  }
  // Non-square tiny frames through retime, as a pipeline test at 64x32 or smaller would run.
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 5; ++i) frames.push_back(disc_frame(4 + i, 2, 16, 12));
  EXPECT_EQ(retime(frames, 16, 24, 7, InterpolationMethod::MotionCompensated).size(), 7u);
}

TEST(MediaInterpolate, Retime16To24KeepsSourceFramesWherePositionsCoincide) {
  // 9 frames at 16 fps (0.5625 s) -> 13 frames at 24 fps; output 3k shows source 2k exactly.
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 9; ++i) frames.push_back(disc_frame(24 + 8 * i));
  const auto out = retime(frames, 16, 24, 13, InterpolationMethod::MotionCompensated);
  ASSERT_EQ(out.size(), 13u);
  for (size_t j = 0; j < out.size(); ++j) {
    ASSERT_EQ(out[j].size(), frames[0].size());
    ASSERT_EQ(out[j].type(), CV_8UC3);
    if (j % 3 == 0) {
      EXPECT_TRUE(identical(out[j], frames[j / 3 * 2])) << "output " << j;
    } else {
      // Source position j * 2/3: the disc at 24 + 8 * that.
      const double x = 24 + 8 * (double(j) * 2 / 3);
      EXPECT_NEAR(centroid_x(out[j]), x, 1.5) << "output " << j;
      EXPECT_GT(cv::PSNR(out[j], disc_frame(x)), 30.0) << "output " << j;
    }
  }
}

TEST(MediaInterpolate, RetimeNearestRepeatsAndDropsFrames) {
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 9; ++i) frames.push_back(rft::index_frame(i));
  // Up: positions 0, 2/3, 4/3, 2, 8/3, 10/3, 4 -> nearest 0, 1, 1, 2, 3, 3, 4.
  const auto up = retime(frames, 16, 24, 7, InterpolationMethod::Nearest);
  const std::vector<int> expected_up = {0, 1, 1, 2, 3, 3, 4};
  ASSERT_EQ(up.size(), expected_up.size());
  for (size_t j = 0; j < up.size(); ++j) EXPECT_EQ(rft::frame_index(up[j]), expected_up[j]) << j;
  // Down: positions 0, 1.5, 3, 4.5, 6, 7.5 -> 0, 2 (t = 0.5 takes the later), 3, 5, 6, 8.
  const auto down = retime(frames, 24, 16, 6, InterpolationMethod::Nearest);
  const std::vector<int> expected_down = {0, 2, 3, 5, 6, 8};
  ASSERT_EQ(down.size(), expected_down.size());
  for (size_t j = 0; j < down.size(); ++j) {
    EXPECT_EQ(rft::frame_index(down[j]), expected_down[j]) << j;
  }
}

TEST(MediaInterpolate, RetimeDownInterpolatesBetweenDroppedPositions) {
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 7; ++i) frames.push_back(disc_frame(24 + 8 * i));
  const auto out = retime(frames, 24, 16, 4, InterpolationMethod::MotionCompensated);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(identical(out[0], frames[0]));
  EXPECT_TRUE(identical(out[2], frames[3]));
  EXPECT_NEAR(centroid_x(out[1]), 24 + 8 * 1.5, 1.5);
  EXPECT_NEAR(centroid_x(out[3]), 24 + 8 * 4.5, 1.5);
}

TEST(MediaInterpolate, RetimeClampsPastTheLastFrame) {
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 3; ++i) frames.push_back(rft::index_frame(i));
  const auto out = retime(frames, 16, 24, 8, InterpolationMethod::Blend);
  ASSERT_EQ(out.size(), 8u);
  // Position 3 * 2/3 = 2 is the last frame; everything after repeats it.
  for (size_t j = 3; j < out.size(); ++j) EXPECT_TRUE(identical(out[j], frames[2])) << j;
  EXPECT_TRUE(retime(frames, 16, 24, 0, InterpolationMethod::Blend).empty());
  // One source frame: all copies of it.
  const auto single = retime({frames[1]}, 16, 24, 3, InterpolationMethod::MotionCompensated);
  ASSERT_EQ(single.size(), 3u);
  for (const auto& f : single) EXPECT_TRUE(identical(f, frames[1]));
}

TEST(MediaInterpolate, StreamingRetimerMatchesRetime) {
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 6; ++i) frames.push_back(disc_frame(24 + 8 * i));
  const auto whole = retime(frames, 16, 30, 11, InterpolationMethod::MotionCompensated);
  Retimer retimer(16, 30, 11, InterpolationMethod::MotionCompensated);
  std::vector<cv::Mat> streamed;
  cv::Mat buffer;  // one reused input buffer, as a decoder loop would have
  for (size_t i = 0; i < frames.size(); ++i) {
    frames[i].copyTo(buffer);
    const auto got = retimer.push(buffer);
    // Frame 0 makes output 0 available at once; later outputs wait for the frame after them.
    if (i == 0) {
      EXPECT_EQ(got.size(), 1u);
    }
    streamed.insert(streamed.end(), got.begin(), got.end());
  }
  for (auto& f : retimer.finish()) streamed.push_back(f);
  ASSERT_EQ(streamed.size(), whole.size());
  for (size_t j = 0; j < whole.size(); ++j) EXPECT_TRUE(identical(streamed[j], whole[j])) << j;
  EXPECT_EQ(retimer.stats().flow_pairs, 5);
  expect_invalid_argument([&] { retimer.push(frames[0]); }, "push after finish");
}

TEST(MediaInterpolate, RejectsBadInput) {
  const cv::Mat a = disc_frame(40), b = disc_frame(48);
  const std::vector<cv::Mat> frames = {a, b};
  const auto mc = InterpolationMethod::MotionCompensated;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_invalid_argument([&] { retime({}, 16, 24, 1, mc); }, "no frames");
  expect_invalid_argument([&] { retime(frames, 0, 24, 1, mc); }, "zero source fps");
  expect_invalid_argument([&] { retime(frames, -16, 24, 1, mc); }, "negative source fps");
  expect_invalid_argument([&] { retime(frames, 16, 0, 1, mc); }, "zero output fps");
  expect_invalid_argument([&] { retime(frames, nan, 24, 1, mc); }, "NaN fps");
  expect_invalid_argument([&] { retime(frames, 16, 24, -1, mc); }, "negative count");
  expect_invalid_argument(
      [&] {
        retime({a, disc_frame(40, 12, 64, 48)}, 16, 24, 3, mc);
      },
      "mixed sizes");
  expect_invalid_argument([&] { retime({a, grey_of(b)}, 16, 24, 3, mc); }, "mixed types");
  expect_invalid_argument([&] { retime({a, cv::Mat()}, 16, 24, 3, mc); }, "empty frame");
  expect_invalid_argument([&] { Retimer(16, 24, 3, mc).finish(); }, "finish without frames");

  FrameInterpolator interpolator(mc);
  expect_invalid_argument([&] { interpolator.between(a, b, -0.1); }, "t < 0");
  expect_invalid_argument([&] { interpolator.between(a, b, 1.5); }, "t > 1");
  expect_invalid_argument([&] { interpolator.between(a, b, nan); }, "t NaN");
  expect_invalid_argument([&] { interpolator.between(a, disc_frame(40, 12, 64, 48), 0.5); },
                          "sizes differ");
  expect_invalid_argument([&] { interpolator.between(grey_of(a), grey_of(b), 0.5); }, "grey");
}
