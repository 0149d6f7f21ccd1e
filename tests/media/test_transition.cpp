// Crossfades between shots: endpoint copies, blend values, the (i + 1) / (n + 1) weight rule.

#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/transition.hpp"
#include "support/media_testing.hpp"

using namespace reelforge;
using namespace reelforge::media;

using reelforge::testing::expect_invalid_argument;

namespace {

cv::Mat flat(int level, int width = 16, int height = 8) {
  return cv::Mat(height, width, CV_8UC3, cv::Scalar::all(level));
}

// The single level of a flat frame, or -1 when it is not flat.
int level_of(const cv::Mat& m) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(m.reshape(1), &lo, &hi);
  return lo == hi ? int(lo) : -1;
}

}  // namespace

TEST(MediaTransition, CrossfadeEndpointsAreCopies) {
  cv::Mat from(8, 16, CV_8UC3), to(8, 16, CV_8UC3);
  cv::randu(from, 0, 256);
  cv::randu(to, 0, 256);
  const cv::Mat at0 = crossfade(from, to, 0.0), at1 = crossfade(from, to, 1.0);
  EXPECT_EQ(cv::norm(at0, from, cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(at1, to, cv::NORM_INF), 0);
  EXPECT_NE(at0.data, from.data);
}

TEST(MediaTransition, CrossfadeBlendsLinearly) {
  EXPECT_EQ(level_of(crossfade(flat(100), flat(200), 0.5)), 150);
  EXPECT_EQ(level_of(crossfade(flat(100), flat(200), 0.25)), 125);
  EXPECT_EQ(level_of(crossfade(flat(0), flat(250), 0.1)), 25);
}

TEST(MediaTransition, CrossfadeFramesUseInteriorWeights) {
  // n = 3: weights 1/4, 2/4, 3/4, never a pure copy of either side.
  const std::vector<cv::Mat> out =
      crossfade_frames({flat(0), flat(0), flat(0)}, {flat(240), flat(240), flat(240)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(level_of(out[0]), 60);
  EXPECT_EQ(level_of(out[1]), 120);
  EXPECT_EQ(level_of(out[2]), 180);
  const std::vector<cv::Mat> one = crossfade_frames({flat(0)}, {flat(200)});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(level_of(one[0]), 100);
  EXPECT_TRUE(crossfade_frames({}, {}).empty());
}

TEST(MediaTransition, JoinWithCrossfadeOverlapsTheShots) {
  std::vector<cv::Mat> first, second;
  for (int i = 0; i < 5; ++i) first.push_back(flat(10 * i));         // 0 .. 40
  for (int i = 0; i < 4; ++i) second.push_back(flat(200 + 10 * i));  // 200 .. 230
  const auto joined = join_with_crossfade(first, second, 2);
  ASSERT_EQ(joined.size(), 7u);
  EXPECT_EQ(level_of(joined[0]), 0);
  EXPECT_EQ(level_of(joined[2]), 20);
  // first[3] = 30 with second[0] = 200 at 1/3; first[4] = 40 with second[1] = 210 at 2/3.
  EXPECT_EQ(level_of(joined[3]), 87);   // 30 + 170 / 3 = 86.67
  EXPECT_EQ(level_of(joined[4]), 153);  // 40 + 2 * 170 / 3 = 153.33
  EXPECT_EQ(level_of(joined[5]), 220);
  EXPECT_EQ(level_of(joined[6]), 230);

  const auto cut = join_with_crossfade(first, second, 0);
  ASSERT_EQ(cut.size(), 9u);
  EXPECT_EQ(level_of(cut[4]), 40);
  EXPECT_EQ(level_of(cut[5]), 200);
  EXPECT_EQ(join_with_crossfade(first, second, 4).size(), 5u);
}

TEST(MediaTransition, CrossfadeRejectsMismatches) {
  expect_invalid_argument([] { crossfade(flat(0, 16, 8), flat(0, 8, 16), 0.5); }, "sizes");
  expect_invalid_argument([] { crossfade(flat(0), cv::Mat(8, 16, CV_8UC1), 0.5); }, "types");
  expect_invalid_argument([] { crossfade(cv::Mat(), flat(0), 0.5); }, "empty");
  expect_invalid_argument([] { crossfade(flat(0), flat(0), 1.01); }, "t > 1");
  expect_invalid_argument([] { crossfade(flat(0), flat(0), -0.5); }, "t < 0");
  expect_invalid_argument([] { crossfade_frames({flat(0)}, {flat(0), flat(0)}); }, "counts");
  expect_invalid_argument([] { crossfade_frames({flat(0)}, {flat(0, 8, 8)}); }, "pair size");
  const std::vector<cv::Mat> three(3, flat(0)), two(2, flat(0));
  expect_invalid_argument([&] { join_with_crossfade(three, two, 3); }, "overlap too long");
  expect_invalid_argument([&] { join_with_crossfade(three, two, -1); }, "negative overlap");
}
