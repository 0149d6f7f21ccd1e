#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/dataset/world.hpp"

namespace reelforge::dataset {
namespace {

ObjectSpec object(Shape shape, ObjectColor color, Size size, Motion motion, float x0 = 0.5F,
                  float y0 = 0.5F, float speed = 0.5F) {
  ObjectSpec o;
  o.shape = shape;
  o.color = color;
  o.size = size;
  o.motion = motion;
  o.x0 = x0;
  o.y0 = y0;
  o.speed = speed;
  return o;
}

ClipSpec one(Background background, const ObjectSpec& o) {
  ClipSpec spec;
  spec.background = background;
  spec.objects = {o};
  return spec;
}

// Object pixels: anything not equal to the bare background.
cv::Mat object_mask(const cv::Mat& frame, Background background) {
  cv::Mat diff;
  cv::absdiff(frame, render_background(background, {frame.cols, frame.rows}), diff);
  cv::Mat gray;
  cv::transform(diff, gray, cv::Matx13f(1, 1, 1));
  return gray > 30;
}

cv::Point2d centroid(const cv::Mat& mask) {
  cv::Moments m = cv::moments(mask, true);
  return {m.m10 / m.m00, m.m01 / m.m00};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(World, NamesRoundTripAndUnknownNamesAreRejected) {
  for (int i = 0; i < kShapeCount; ++i) {
    EXPECT_EQ(parse_shape(to_string(static_cast<Shape>(i))), static_cast<Shape>(i));
  }
  for (int i = 0; i < kColorCount; ++i) {
    EXPECT_EQ(parse_color(to_string(static_cast<ObjectColor>(i))), static_cast<ObjectColor>(i));
  }
  for (int i = 0; i < kSizeCount; ++i) {
    EXPECT_EQ(parse_size(to_string(static_cast<Size>(i))), static_cast<Size>(i));
  }
  for (int i = 0; i < kMotionCount; ++i) {
    EXPECT_EQ(parse_motion(to_string(static_cast<Motion>(i))), static_cast<Motion>(i));
  }
  for (int i = 0; i < kBackgroundCount; ++i) {
    EXPECT_EQ(parse_background(to_string(static_cast<Background>(i))), static_cast<Background>(i));
  }
  try {
    parse_shape("hexagon");
    FAIL() << "no error for an unknown shape";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(e.message().find("circle"), std::string::npos) << e.message();
  }
  EXPECT_THROW(parse_background("Sky"), Error);
}

TEST(World, RenderingIsDeterministicAndSpecDependent) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10; ++i) {
    const ClipSpec spec = sample_clip(rng, Split::Train);
    const auto a = render_clip(spec, {64, 48}, 6);
    const auto b = render_clip(spec, {64, 48}, 6);
    ASSERT_EQ(a.size(), b.size());
    for (size_t f = 0; f < a.size(); ++f) EXPECT_EQ(cv::norm(a[f], b[f], cv::NORM_INF), 0.0);
    ClipSpec moved = spec;
    moved.objects[0].x0 = spec.objects[0].x0 > 0.5F ? 0.1F : 0.9F;
    moved.objects[0].motion = Motion::Still;
    const auto c = render_clip(moved, {64, 48}, 6);
    EXPECT_GT(cv::norm(a[0], c[0], cv::NORM_L1), 0.0);
  }
}

TEST(World, FramesHaveTheRequestedSizeAndType) {
  std::mt19937_64 rng(11);
  const ClipSpec spec = sample_clip(rng, Split::Train);
  for (media::FrameSize size : {media::FrameSize{96, 54}, media::FrameSize{54, 96},
                                media::FrameSize{32, 32}, media::FrameSize{256, 144}}) {
    const auto frames = render_clip(spec, size, 5);
    ASSERT_EQ(frames.size(), 5U);
    for (const auto& f : frames) {
      EXPECT_EQ(f.cols, size.width_px);
      EXPECT_EQ(f.rows, size.height_px);
      EXPECT_EQ(f.type(), CV_8UC3);
    }
  }
  EXPECT_THROW(render_clip(ClipSpec{}, {64, 64}, 4), Error);
  EXPECT_THROW(render_clip(spec, {64, 64}, 1), Error);
  EXPECT_THROW(render_clip(spec, {8, 64}, 4), Error);
}

TEST(World, CoverageMarksExactlyThePixelsTheObjectsPaint) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 12; ++i) {
    const ClipSpec spec = sample_clip(rng, Split::Train);
    const media::FrameSize size{96, 64};
    std::vector<cv::Mat> coverage;
    const auto frames = render_clip(spec, size, 7, &coverage);
    ASSERT_EQ(coverage.size(), frames.size());
    const cv::Mat background = render_background(spec.background, size);
    for (size_t f = 0; f < frames.size(); ++f) {
      ASSERT_EQ(coverage[f].type(), CV_8UC1);
      ASSERT_EQ(coverage[f].size(), frames[f].size());
      cv::Mat changed;
      cv::absdiff(frames[f], background, changed);
      cv::cvtColor(changed, changed, cv::COLOR_RGB2GRAY);
      // Painted pixels are covered and uncovered ones are untouched background.
      EXPECT_EQ(cv::countNonZero((changed > 0) & (coverage[f] == 0)), 0) << "frame " << f;
      EXPECT_GT(cv::countNonZero(coverage[f] == 255), 20) << "frame " << f;
      const cv::Vec3b main_rgb = color_rgb(spec.objects.front().color);
      if (spec.objects.size() == 1) {
        cv::Mat full = coverage[f] == 255;
        std::vector<cv::Point> inside;
        cv::findNonZero(full, inside);
        for (const cv::Point& p : inside) ASSERT_EQ(frames[f].at<cv::Vec3b>(p), main_rgb);
      }
    }
    // The same clip rendered without coverage is the same clip.
    const auto plain = render_clip(spec, size, 7);
    for (size_t f = 0; f < frames.size(); ++f) {
      EXPECT_EQ(cv::norm(plain[f], frames[f], cv::NORM_INF), 0.0);
    }
  }
}

TEST(World, MotionsMoveScaleAndTurnTheObject) {
  const media::FrameSize size{80, 60};
  auto track = [&](Motion motion, Shape shape = Shape::Circle) {
    const ClipSpec spec = one(
        Background::Gray,
        object(shape, ObjectColor::Red, Size::Medium, motion, motion == Motion::Left ? 0.9F : 0.1F,
               motion == Motion::Up ? 0.9F : 0.1F, motion == Motion::Bounce ? 1.5F : 0.8F));
    return render_clip(spec, size, 9);
  };
  const double travel_px = 10;
  {
    auto f = track(Motion::Left);
    EXPECT_LT(centroid(object_mask(f.back(), Background::Gray)).x,
              centroid(object_mask(f.front(), Background::Gray)).x - travel_px);
  }
  {
    auto f = track(Motion::Right);
    EXPECT_GT(centroid(object_mask(f.back(), Background::Gray)).x,
              centroid(object_mask(f.front(), Background::Gray)).x + travel_px);
  }
  {
    auto f = track(Motion::Up);
    EXPECT_LT(centroid(object_mask(f.back(), Background::Gray)).y,
              centroid(object_mask(f.front(), Background::Gray)).y - travel_px);
  }
  {
    auto f = track(Motion::Down);
    EXPECT_GT(centroid(object_mask(f.back(), Background::Gray)).y,
              centroid(object_mask(f.front(), Background::Gray)).y + travel_px);
  }
  {
    // Linear scale 0.76 -> 1.24 is 1.63x, so the area grows about 2.66x.
    auto f = track(Motion::Grow);
    const double first = cv::countNonZero(object_mask(f.front(), Background::Gray));
    const double last = cv::countNonZero(object_mask(f.back(), Background::Gray));
    EXPECT_GT(last / first, 2.3);
    auto g = track(Motion::Shrink);
    EXPECT_LT(cv::countNonZero(object_mask(g.back(), Background::Gray)) /
                  static_cast<double>(cv::countNonZero(object_mask(g.front(), Background::Gray))),
              1 / 2.3);
  }
  {
    // Spin keeps the centre and the area but changes the outline.
    auto f = track(Motion::Spin, Shape::Square);
    const cv::Mat a = object_mask(f[0], Background::Gray);
    const cv::Mat b = object_mask(f[1], Background::Gray);
    EXPECT_LT(cv::norm(centroid(a) - centroid(b)), 0.5);
    EXPECT_GT(cv::countNonZero(a ^ b), cv::countNonZero(a) / 10);
  }
  {
    // Bounce reverses direction at an edge instead of leaving the frame.
    auto f = track(Motion::Bounce);
    std::vector<double> xs;
    for (const auto& frame : f) xs.push_back(centroid(object_mask(frame, Background::Gray)).x);
    const auto max_it = std::max_element(xs.begin(), xs.end());
    EXPECT_NE(max_it, xs.begin());
    EXPECT_NE(max_it, xs.end() - 1);
  }
}

TEST(World, SampledObjectsStayMostlyInsideTheFrame) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const ClipSpec spec = sample_clip(rng, i % 2 ? Split::Train : Split::HeldOut);
    for (const auto& frame : render_clip(spec, {48, 32}, 4)) {
      const cv::Mat mask = object_mask(frame, spec.background);
      cv::Mat inner = mask(cv::Rect(1, 1, mask.cols - 2, mask.rows - 2));
      const double all = cv::countNonZero(mask);
      const double edge = all - cv::countNonZero(inner);
      EXPECT_LE(edge, 0.1 * all) << canonical_caption(spec);
    }
  }
}

TEST(World, HeldOutCombinationsAreExactlyTheListedOnes) {
  EXPECT_TRUE(is_held_out(object(Shape::Star, ObjectColor::Red, Size::Big, Motion::Left)));
  EXPECT_TRUE(is_held_out(object(Shape::Square, ObjectColor::White, Size::Big, Motion::Bounce)));
  EXPECT_TRUE(is_held_out(object(Shape::Triangle, ObjectColor::Black, Size::Small, Motion::Spin)));
  EXPECT_FALSE(is_held_out(object(Shape::Star, ObjectColor::Blue, Size::Big, Motion::Left)));
  EXPECT_FALSE(is_held_out(object(Shape::Circle, ObjectColor::Red, Size::Big, Motion::Grow)));
  EXPECT_EQ(held_out_pairs().size(), 8U);
}

TEST(World, TrainNeverAndHeldOutAlwaysYieldsAHeldOutCombination) {
  std::mt19937_64 rng(2024);
  int two_objects = 0;
  for (int i = 0; i < 5000; ++i) {
    const ClipSpec spec = sample_clip(rng, Split::Train);
    ASSERT_TRUE(spec.objects.size() == 1 || spec.objects.size() == 2);
    two_objects += spec.objects.size() == 2 ? 1 : 0;
    for (const auto& o : spec.objects) {
      ASSERT_FALSE(is_held_out(o)) << canonical_caption(spec);
      EXPECT_FALSE(color_clashes(o.color, spec.background)) << canonical_caption(spec);
      if (o.motion == Motion::Spin) {
        EXPECT_TRUE(o.shape != Shape::Circle && o.shape != Shape::Ring);
      }
    }
    if (spec.objects.size() == 2) {
      EXPECT_NE(spec.objects[0].color, spec.objects[1].color);
    }
  }
  EXPECT_GT(two_objects, 1000);
  EXPECT_LT(two_objects, 1500);

  std::set<std::string> seen_pairs;
  for (int i = 0; i < 2000; ++i) {
    const ClipSpec spec = sample_clip(rng, Split::HeldOut);
    const ObjectSpec& o = spec.objects.front();
    ASSERT_TRUE(is_held_out(o)) << canonical_caption(spec);
    EXPECT_FALSE(color_clashes(o.color, spec.background)) << canonical_caption(spec);
    for (const auto& p : held_out_pairs()) {
      const bool match =
          p.shape == o.shape &&
          (p.kind == HeldOutPair::Kind::ColorShape ? p.color == o.color : p.motion == o.motion);
      if (match) {
        seen_pairs.insert(std::string(to_string(p.shape)) + to_string(p.color) +
                          to_string(p.motion) + std::to_string(static_cast<int>(p.kind)));
      }
    }
  }
  EXPECT_EQ(seen_pairs.size(), held_out_pairs().size());
}

// A training mix: equal weights are the world's own clips exactly; other weights change how often
// each shape appears, a weight of 0 removes it, and the held-out combinations stay out.
TEST(World, AWorldMixSetsHowOftenEachShapeIsTrainedOn) {
  std::mt19937_64 plain(99), even(99);
  WorldMix doubled;
  doubled.shape = {2, 2, 2, 2, 2};
  for (int i = 0; i < 200; ++i) {
    const ClipSpec a = sample_clip(plain, Split::Train);
    const ClipSpec b = sample_clip(even, Split::Train, doubled);
    ASSERT_EQ(canonical_caption(a), canonical_caption(b));
    ASSERT_EQ(a.seed, b.seed);
  }
  const auto star_share = [](const WorldMix& mix, int* rings) {
    std::mt19937_64 rng(5);
    int stars = 0, objects = 0;
    for (int i = 0; i < 4000; ++i) {
      for (const auto& o : sample_clip(rng, Split::Train, mix).objects) {
        EXPECT_FALSE(is_held_out(o)) << to_string(o.shape) << " " << to_string(o.color);
        stars += o.shape == Shape::Star ? 1 : 0;
        if (rings != nullptr) *rings += o.shape == Shape::Ring ? 1 : 0;
        ++objects;
      }
    }
    return static_cast<double>(stars) / objects;
  };
  int rings = 0;
  WorldMix heavy;
  heavy.shape = {1, 1, 1, 4, 0};
  const double even_share = star_share(WorldMix{}, nullptr);
  const double heavy_share = star_share(heavy, &rings);
  // The held-out red stars and stars moving up are refused, so stars are a bit under 1/5 of
  // the world's training objects; weight 4 of 7 (no rings) gives a bit under 4/7.
  EXPECT_GT(even_share, 0.14);
  EXPECT_LT(even_share, 0.2);
  EXPECT_GT(heavy_share, 0.45);
  EXPECT_LT(heavy_share, 4.0 / 7);
  EXPECT_EQ(rings, 0);
  // Held-out clips are the world's own whatever the mix, so the evaluation's prompts never move.
  std::mt19937_64 own(6), mixed(6);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(canonical_caption(sample_clip(own, Split::HeldOut)),
              canonical_caption(sample_clip(mixed, Split::HeldOut, heavy)));
  }
}

// A narrow mix is a small world: only its values, and a second object only where the mix allows
// two colours on the clip's background.
TEST(World, ANarrowMixIsASmallWorld) {
  const WorldMix one_star = parse_world_mix("star,big,white,gray,still,second=0");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const ClipSpec spec = sample_clip(rng, Split::Train, one_star);
    ASSERT_EQ(spec.objects.size(), 1U);
    EXPECT_EQ(canonical_caption(spec), "a big white star staying still on a gray background");
  }
  // One colour: never a second object, whatever the chance of one.
  const WorldMix white = parse_world_mix("white,second=1");
  // Two colours, a second object always; motions and sizes stay the world's.
  const WorldMix two = parse_world_mix("white,black,star,gray,second=1");
  std::array<int, kMotionCount> motions{};
  std::array<int, kSizeCount> sizes{};
  for (int i = 0; i < 300; ++i) {
    for (const auto& o : sample_clip(rng, Split::Train, white).objects) {
      EXPECT_EQ(o.color, ObjectColor::White);
    }
    EXPECT_EQ(sample_clip(rng, Split::Train, white).objects.size(), 1U);
    const ClipSpec pair = sample_clip(rng, Split::Train, two);
    ASSERT_EQ(pair.objects.size(), 2U);
    EXPECT_EQ(pair.background, Background::Gray);
    EXPECT_NE(pair.objects[0].color, pair.objects[1].color);
    for (const auto& o : pair.objects) {
      EXPECT_EQ(o.shape, Shape::Star);
      EXPECT_TRUE(o.color == ObjectColor::White || o.color == ObjectColor::Black);
      ++motions[size_t(o.motion)];
      ++sizes[size_t(o.size)];
    }
  }
  // Every motion but the held-out star moving up.
  for (int m = 0; m < kMotionCount; ++m) {
    if (Motion(m) == Motion::Up) {
      EXPECT_EQ(motions[size_t(m)], 0);
    } else {
      EXPECT_GT(motions[size_t(m)], 0) << to_string(Motion(m));
    }
  }
  for (int z = 0; z < kSizeCount; ++z) EXPECT_GT(sizes[size_t(z)], 0) << z;
  // A background where none of the mix's colours can go is never drawn: white clashes with no
  // plain background but black does with night.
  const WorldMix black = parse_world_mix("black,night,gray");
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sample_clip(rng, Split::Train, black).background, Background::Gray);
  }
}

TEST(World, AWorldMixIsWrittenAndReadByName) {
  WorldMix expected;
  expected.shape[size_t(Shape::Star)] = 3;
  expected.size[size_t(Size::Small)] = 0;
  expected.second_object = 0;
  EXPECT_EQ(parse_world_mix("star=3,small=0,second=0"), expected);
  EXPECT_EQ(to_string(expected), "star=3,medium,big,second=0");
  EXPECT_EQ(parse_world_mix(to_string(expected)), expected);
  EXPECT_EQ(to_string(WorldMix{}), "");
  EXPECT_EQ(parse_world_mix("all"), WorldMix{});
  const WorldMix small_world = parse_world_mix("star,white,big,gray,still,second=0");
  EXPECT_EQ(to_string(small_world), "star,white,big,still,gray,second=0");
  EXPECT_EQ(parse_world_mix(to_string(small_world)), small_world);
  // Bare names keep only themselves in their kind; a weighted name of the same kind stays too.
  const WorldMix bare = parse_world_mix("star,square=0.5,gray");
  EXPECT_EQ(bare.shape, (std::array<double, kShapeCount>{0, 0.5, 0, 1, 0}));
  EXPECT_EQ(bare.background, (std::array<double, kBackgroundCount>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(bare.color, WorldMix{}.color);
  EXPECT_EQ(parse_world_mix("star=3", /*only_shapes=*/true).shape[size_t(Shape::Star)], 3.0);

  const auto refused = [](const std::string& text, const std::string& message,
                          bool only_shapes = false) {
    try {
      parse_world_mix(text, only_shapes);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument) << text;
      EXPECT_NE(e.message().find(message), std::string::npos) << e.message();
    }
  };
  refused("stars=2", "unknown name 'stars' in 'stars=2'; valid: circle, square");
  refused("red=2", "unknown name 'red'", /*only_shapes=*/true);
  refused("star", "'star' is not SHAPE=WEIGHT", /*only_shapes=*/true);
  refused("star=x", "the weight of star must be a number, not 'x'");
  refused("star=-1", "the weight of star must be in [0, 1000]");
  refused("circle=0,square=0,triangle=0,star=0,ring=0", "the weights of the shapes are all 0");
  refused("second=1.5", "the chance of a second object (second) must be in [0, 1]");
  refused("second", "'second' needs a chance");
  refused("", "unknown name ''");
  // The red star is held out: a world of nothing else has nothing to train on.
  refused("red,star", "it leaves no training object");
  refused("circle,spin", "it leaves no training object");
  refused("black,night", "it leaves no training object");
}

TEST(World, ColoursNeverClashWithTheirBackgroundInTheSampler) {
  EXPECT_TRUE(color_clashes(ObjectColor::Blue, Background::Sky));
  EXPECT_TRUE(color_clashes(ObjectColor::Green, Background::SkyOverGrass));
  EXPECT_TRUE(color_clashes(ObjectColor::Black, Background::Night));
  EXPECT_FALSE(color_clashes(ObjectColor::Red, Background::Sky));
  // Every background keeps most colours usable, and every colour some background.
  for (int b = 0; b < kBackgroundCount; ++b) {
    int usable = 0;
    for (int c = 0; c < kColorCount; ++c) {
      usable += color_clashes(static_cast<ObjectColor>(c), static_cast<Background>(b)) ? 0 : 1;
    }
    EXPECT_GE(usable, 4) << to_string(static_cast<Background>(b));
  }
}

TEST(World, CaptionsVaryAndNameTheColourAndTheShape) {
  const std::vector<std::vector<std::string>> synonyms = {
      {"ball", "circle", "sphere", "disc", "dot"},
      {"square", "box", "block", "cube"},
      {"triangle", "triangular", "wedge"},
      {"star"},
      {"ring", "hoop", "donut", "loop"}};
  for (int s = 0; s < kShapeCount; ++s) {
    const ClipSpec spec = one(Background::Sky, object(static_cast<Shape>(s), ObjectColor::Red,
                                                      Size::Small, Motion::Left));
    std::set<std::string> distinct;
    for (uint64_t seed = 0; seed < 200; ++seed) {
      std::mt19937_64 rng(seed);
      const std::string text = caption(spec, rng);
      distinct.insert(text);
      const std::string l = lower(text);
      EXPECT_NE(l.find("red"), std::string::npos) << text;
      EXPECT_NE(l.find("left"), std::string::npos) << text;
      EXPECT_TRUE(std::any_of(synonyms[s].begin(), synonyms[s].end(), [&](const std::string& w) {
        return l.find(w) != std::string::npos;
      })) << text;
      std::mt19937_64 again(seed);
      EXPECT_EQ(caption(spec, again), text);
    }
    EXPECT_GE(distinct.size(), 100U);
  }
}

// The evaluation prompts' phrasing (canonical_caption) is among the training captions' phrasings,
// so an evaluation measures what the model learnt of the world, not of an unseen word order.
TEST(World, TrainingCaptionsIncludeTheCanonicalPhrasing) {
  const auto canonical_parts = [](const ClipSpec& spec) {
    const std::string text = canonical_caption(spec);
    const size_t on = text.rfind(" on ");
    const std::string subject = text.substr(0, on);
    // "a small red square moving left" -> "moving left"
    size_t word = 0;
    for (int i = 0; i < 4; ++i) word = subject.find(' ', word) + 1;
    return std::pair<std::string, std::string>(subject.substr(word), text.substr(on + 1));
  };
  for (int m = 0; m < kMotionCount; ++m) {
    for (int b = 0; b < kBackgroundCount; ++b) {
      const ClipSpec spec = one(static_cast<Background>(b),
                                object(Shape::Square, ObjectColor::Red, Size::Small,
                                       static_cast<Motion>(m)));
      const auto [motion_text, background_text] = canonical_parts(spec);
      bool motion_seen = false, background_seen = false;
      for (uint64_t seed = 0; seed < 400 && !(motion_seen && background_seen); ++seed) {
        std::mt19937_64 rng(seed);
        const std::string l = lower(caption(spec, rng));
        motion_seen = motion_seen || l.find(motion_text) != std::string::npos;
        background_seen = background_seen || l.find(background_text) != std::string::npos;
      }
      EXPECT_TRUE(motion_seen) << motion_text;
      EXPECT_TRUE(background_seen) << background_text;
    }
  }
}

TEST(World, TwoObjectCaptionsNameBoth) {
  ClipSpec spec =
      one(Background::Night, object(Shape::Star, ObjectColor::Yellow, Size::Big, Motion::Spin));
  spec.objects.push_back(object(Shape::Ring, ObjectColor::White, Size::Small, Motion::Down));
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed);
    const std::string l = lower(caption(spec, rng));
    EXPECT_NE(l.find("yellow"), std::string::npos) << l;
    EXPECT_NE(l.find("white"), std::string::npos) << l;
    EXPECT_TRUE(l.find(" and ") != std::string::npos || l.find(" while ") != std::string::npos)
        << l;
  }
  EXPECT_EQ(canonical_caption(spec),
            "a big yellow star spinning and a small white ring moving down on a dark background");
  EXPECT_EQ(canonical_caption(one(Background::Sky, object(Shape::Circle, ObjectColor::Red,
                                                          Size::Small, Motion::Left))),
            "a small red circle moving left on a blue sky");
}

}  // namespace
}  // namespace reelforge::dataset
