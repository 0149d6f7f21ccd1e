#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/dataset/score.hpp"
#include "reelforge/dataset/world.hpp"

namespace reelforge::dataset {
namespace {

struct Accuracy {
  double background = 0;
  double color = 0;
  double shape = 0;
  double size = 0;
  double motion = 0;
  double stability = 0;
  double found = 0;
};

// Renders `count` single-object clips of both splits and reads each back.
Accuracy read_back(media::FrameSize size, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Accuracy a;
  for (int i = 0; i < count; ++i) {
    ClipSpec spec = sample_clip(rng, i % 4 == 0 ? Split::HeldOut : Split::Train);
    spec.objects.resize(1);
    const ObjectSpec& o = spec.objects.front();
    const ClipReading r = read_clip(render_clip(spec, size, 16));
    a.background += r.background == spec.background ? 1 : 0;
    a.color += r.found && r.color == o.color ? 1 : 0;
    a.shape += r.found && r.shape == o.shape ? 1 : 0;
    a.size += r.found && r.size == o.size ? 1 : 0;
    a.motion += r.found && r.motion == o.motion ? 1 : 0;
    a.stability += r.stability;
    a.found += r.found ? 1 : 0;
  }
  for (double* v :
       {&a.background, &a.color, &a.shape, &a.size, &a.motion, &a.stability, &a.found}) {
    *v /= count;
  }
  return a;
}

// Bounds are a little under what was measured (over 1000 clips: everything 1.000 at 64x64; at
// 32x32 shape 0.994 -- small rings whose hole closes -- and the rest 1.000).
TEST(Score, ReadsBackItsOwnRendersAt64x64) {
  const Accuracy a = read_back({64, 64}, 300, 1);
  EXPECT_GE(a.background, 0.99);
  EXPECT_GE(a.color, 0.99);
  EXPECT_GE(a.shape, 0.98);
  EXPECT_GE(a.size, 0.98);
  EXPECT_GE(a.motion, 0.98);
  EXPECT_GE(a.stability, 0.98);
  EXPECT_GE(a.found, 0.99);
}

TEST(Score, ReadsBackItsOwnRendersAt32x32) {
  const Accuracy a = read_back({32, 32}, 300, 2);
  EXPECT_GE(a.background, 0.99);
  EXPECT_GE(a.color, 0.98);
  EXPECT_GE(a.shape, 0.96);
  EXPECT_GE(a.size, 0.97);
  EXPECT_GE(a.motion, 0.97);
  EXPECT_GE(a.stability, 0.97);
  EXPECT_GE(a.found, 0.99);
}

TEST(Score, ReadsBackWideAndVerticalFrames) {
  for (media::FrameSize size : {media::FrameSize{96, 54}, media::FrameSize{36, 64}}) {
    const Accuracy a = read_back(size, 100, 3);
    EXPECT_GE(a.background, 0.98) << size.width_px << "x" << size.height_px;
    EXPECT_GE(a.color, 0.98) << size.width_px << "x" << size.height_px;
    EXPECT_GE(a.shape, 0.95) << size.width_px << "x" << size.height_px;
    EXPECT_GE(a.size, 0.97) << size.width_px << "x" << size.height_px;
    EXPECT_GE(a.motion, 0.97) << size.width_px << "x" << size.height_px;
  }
}

TEST(Score, TheMainObjectIsTheLargest) {
  ClipSpec spec;
  spec.background = Background::SkyOverGrass;
  ObjectSpec small;
  small.shape = Shape::Square;
  small.color = ObjectColor::Black;
  small.size = Size::Small;
  small.motion = Motion::Still;
  small.x0 = 0.0F;
  small.y0 = 0.0F;
  ObjectSpec big;
  big.shape = Shape::Star;
  big.color = ObjectColor::Orange;
  big.size = Size::Big;
  big.motion = Motion::Right;
  big.x0 = 0.3F;
  big.y0 = 1.0F;
  big.speed = 0.7F;
  spec.objects = {small, big};
  const ClipReading r = read_clip(render_clip(spec, {128, 72}, 12));
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.background, Background::SkyOverGrass);
  EXPECT_EQ(r.color, ObjectColor::Orange);
  EXPECT_EQ(r.shape, Shape::Star);
  EXPECT_EQ(r.size, Size::Big);
  EXPECT_EQ(r.motion, Motion::Right);
}

// A decoder rings around what it draws: a fringe darker or lighter than the background, or off
// in hue, widest in a star's notches. Here it fills them (the star's convex hull) and rings the
// rest by a pixel: far from the background, but not the star.
std::vector<cv::Mat> with_fringe(const ClipSpec& spec, media::FrameSize size,
                                 const cv::Scalar& fringe) {
  const cv::Mat background = render_background(spec.background, size);
  std::vector<cv::Mat> frames = render_clip(spec, size, 8);
  for (cv::Mat& frame : frames) {
    cv::Mat difference;
    cv::absdiff(frame, background, difference);
    cv::Mat object;
    cv::cvtColor(difference, object, cv::COLOR_RGB2GRAY);
    object = object > 20;
    std::vector<cv::Point> points;
    std::vector<cv::Point> hull;
    cv::findNonZero(object, points);
    cv::convexHull(points, hull);
    cv::Mat around = cv::Mat::zeros(object.size(), CV_8UC1);
    cv::fillConvexPoly(around, hull, cv::Scalar(255));
    cv::dilate(around, around, cv::Mat());
    frame.setTo(fringe, around & ~object);
  }
  return frames;
}

TEST(Score, ADecodersFringeIsNotPartOfTheOutline) {
  ObjectSpec star;
  star.shape = Shape::Star;
  star.size = Size::Big;
  star.motion = Motion::Still;
  ClipSpec spec;
  spec.objects = {star};
  spec.background = Background::Gray;
  const media::FrameSize size{112, 64};

  // A white star ringed dark, a black one ringed light, a yellow one ringed in another hue.
  const std::pair<ObjectColor, cv::Scalar> cases[] = {{ObjectColor::White, {40, 40, 40}},
                                                      {ObjectColor::Black, {215, 215, 215}},
                                                      {ObjectColor::Yellow, {60, 190, 120}}};
  for (const auto& [color, fringe] : cases) {
    spec.objects[0].color = color;
    const ClipReading r = read_clip(with_fringe(spec, size, fringe));
    ASSERT_TRUE(r.found) << to_string(color);
    EXPECT_EQ(r.shape, Shape::Star) << to_string(color);
    EXPECT_EQ(r.color, color);
  }
}

TEST(Score, NoiseAndEmptyClipsHaveNoObject) {
  cv::RNG rng(5);
  std::vector<cv::Mat> noise;
  for (int i = 0; i < 16; ++i) {
    cv::Mat f(64, 64, CV_8UC3);
    rng.fill(f, cv::RNG::UNIFORM, 0, 256);
    noise.push_back(f);
  }
  const ClipReading n = read_clip(noise);
  EXPECT_FALSE(n.found);
  EXPECT_LT(n.stability, 0.5);

  const std::vector<cv::Mat> empty(8, render_background(Background::Sea, {48, 48}));
  const ClipReading e = read_clip(empty);
  EXPECT_FALSE(e.found);
  EXPECT_EQ(e.stability, 0.0);
  EXPECT_EQ(e.background, Background::Sea);
}

TEST(Score, RejectsUnusableInput) {
  const cv::Mat frame = render_background(Background::Gray, {32, 32});
  EXPECT_THROW(read_clip({frame}), Error);
  EXPECT_THROW(read_clip({frame, render_background(Background::Gray, {32, 48})}), Error);
  EXPECT_THROW(read_clip({cv::Mat(32, 32, CV_8UC1, cv::Scalar(0)), frame}), Error);
}

}  // namespace
}  // namespace reelforge::dataset
