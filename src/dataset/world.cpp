#include "reelforge/dataset/world.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"

namespace reelforge::dataset {
namespace {

constexpr std::array<const char*, kShapeCount> kShapeNames = {"circle", "square", "triangle",
                                                              "star", "ring"};
constexpr std::array<const char*, kColorCount> kColorNames = {"red",  "orange", "yellow", "green",
                                                              "blue", "purple", "white",  "black"};
constexpr std::array<const char*, kSizeCount> kSizeNames = {"small", "medium", "big"};
constexpr std::array<const char*, kMotionCount> kMotionNames = {
    "still", "left", "right", "up", "down", "bounce", "spin", "grow", "shrink"};
constexpr std::array<const char*, kBackgroundCount> kBackgroundNames = {
    "night", "gray", "sky", "sunset", "sky_over_grass", "sea"};

// Far apart in RGB (pairwise distance >= 110) so a blurry generated object still reads back.
constexpr std::array<std::array<uint8_t, 3>, kColorCount> kColorRgb = {{{220, 30, 30},
                                                                        {255, 140, 0},
                                                                        {250, 225, 30},
                                                                        {30, 180, 50},
                                                                        {30, 70, 230},
                                                                        {140, 40, 190},
                                                                        {245, 245, 245},
                                                                        {15, 15, 15}}};

// Closer than this (RGB distance) to any part of a background counts as a clash.
constexpr double kClashDistance = 120.0;
constexpr double kMinScale = 0.76;
constexpr double kMaxScale = 1.24;

template <typename E, size_t N>
E parse_enum(std::string_view text, const std::array<const char*, N>& names, const char* what) {
  std::string valid;
  for (size_t i = 0; i < N; ++i) {
    if (text == names[i]) return static_cast<E>(i);
    valid += (i ? ", " : "") + std::string(names[i]);
  }
  throw Error(ErrorCategory::InvalidArgument,
              "unknown " + std::string(what) + " '" + std::string(text) + "'; valid: " + valid,
              what);
}

cv::Vec3b lerp(cv::Vec3b a, cv::Vec3b b, double t) {
  cv::Vec3b out;
  for (int c = 0; c < 3; ++c) out[c] = cv::saturate_cast<uint8_t>(a[c] + (b[c] - a[c]) * t);
  return out;
}

// Colour of background row y (all backgrounds vary only vertically).
cv::Vec3b background_row(Background background, double y_0_1) {
  switch (background) {
    case Background::Night:
      return {18, 22, 52};
    case Background::Gray:
      return {128, 128, 128};
    case Background::Sky:
      return {120, 180, 235};
    case Background::Sunset:
      return lerp({250, 140, 70}, {110, 50, 120}, y_0_1);
    case Background::SkyOverGrass:
      return y_0_1 < 0.6 ? cv::Vec3b{135, 195, 240} : cv::Vec3b{60, 140, 50};
    case Background::Sea:
      return y_0_1 < 0.45 ? cv::Vec3b{150, 200, 240} : cv::Vec3b{20, 70, 140};
  }
  RF_CHECK(false, "unhandled background");
}

double motion_scale(Motion motion, double t) {
  if (motion == Motion::Grow) return kMinScale + (kMaxScale - kMinScale) * t;
  if (motion == Motion::Shrink) return kMaxScale - (kMaxScale - kMinScale) * t;
  return 1.0;
}

// Folds a position travelling past 1 or 0 back into [0, 1], as a ball reflecting off walls.
double reflect(double p) {
  double m = std::fmod(std::fabs(p), 2.0);
  return m > 1.0 ? 2.0 - m : m;
}

constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kSub = 1 << kShift;

cv::Point sub_px(double x, double y) {
  return {static_cast<int>(std::lround(x * kSub)), static_cast<int>(std::lround(y * kSub))};
}

void fill_polygon(cv::Mat& alpha, const std::vector<cv::Point>& pts) {
  std::vector<std::vector<cv::Point>> polys{pts};
  cv::fillPoly(alpha, polys, cv::Scalar(255), cv::LINE_AA, kShift);
}

// Polygon on the circumcircle `r` around (cx, cy); `inner` > 0 alternates with inner radius points.
std::vector<cv::Point> star_points(double cx, double cy, double r, int points, double inner_ratio,
                                   double angle_rad) {
  std::vector<cv::Point> out;
  int n = inner_ratio > 0 ? points * 2 : points;
  for (int i = 0; i < n; ++i) {
    double rr = (inner_ratio > 0 && i % 2 == 1) ? r * inner_ratio : r;
    double a = angle_rad - CV_PI / 2 + 2 * CV_PI * i / n;  // first point straight up
    out.push_back(sub_px(cx + rr * std::cos(a), cy + rr * std::sin(a)));
  }
  return out;
}

}  // namespace

void draw_shape_coverage(cv::Mat& alpha, Shape shape, cv::Point2d centre_px, double r,
                         double angle_rad) {
  const double cx = centre_px.x;
  const double cy = centre_px.y;
  switch (shape) {
    case Shape::Circle:
      cv::circle(alpha, sub_px(cx, cy), static_cast<int>(std::lround(r * kSub)), cv::Scalar(255),
                 cv::FILLED, cv::LINE_AA, kShift);
      break;
    case Shape::Ring:
      cv::circle(alpha, sub_px(cx, cy), static_cast<int>(std::lround(r * kSub)), cv::Scalar(255),
                 cv::FILLED, cv::LINE_AA, kShift);
      cv::circle(alpha, sub_px(cx, cy), static_cast<int>(std::lround(0.55 * r * kSub)),
                 cv::Scalar(0), cv::FILLED, cv::LINE_AA, kShift);
      break;
    case Shape::Square:
      fill_polygon(alpha, star_points(cx, cy, r, 4, 0, angle_rad + CV_PI / 4));
      break;
    case Shape::Triangle:
      fill_polygon(alpha, star_points(cx, cy, r, 3, 0, angle_rad));
      break;
    case Shape::Star:
      fill_polygon(alpha, star_points(cx, cy, r, 5, 0.45, angle_rad));
      break;
  }
}

namespace {

void composite(cv::Mat& frame, const cv::Mat& alpha, cv::Vec3b color) {
  for (int y = 0; y < frame.rows; ++y) {
    auto* px = frame.ptr<cv::Vec3b>(y);
    const auto* a = alpha.ptr<uint8_t>(y);
    for (int x = 0; x < frame.cols; ++x) {
      if (a[x] == 0) continue;
      px[x] = lerp(px[x], color, a[x] / 255.0);
    }
  }
}

void draw_object(cv::Mat& frame, cv::Mat& alpha, const ObjectSpec& o, double t) {
  const int w = frame.cols;
  const int h = frame.rows;
  const double short_px = std::min(w, h);
  const double r_nominal = size_radius_fraction(o.size) * short_px;
  const double r = r_nominal * motion_scale(o.motion, t);
  // The path is laid out for the largest the object gets, so it stays inside all clip long.
  const double r_path =
      o.motion == Motion::Grow || o.motion == Motion::Shrink ? r_nominal * kMaxScale : r_nominal;
  double u = o.x0;
  double v = o.y0;
  double angle = 0;
  switch (o.motion) {
    case Motion::Left:
      u = o.x0 - o.speed * t;
      break;
    case Motion::Right:
      u = o.x0 + o.speed * t;
      break;
    case Motion::Up:
      v = o.y0 - o.speed * t;
      break;
    case Motion::Down:
      v = o.y0 + o.speed * t;
      break;
    case Motion::Bounce:
      u = reflect(o.x0 + o.speed * t);
      v = reflect(o.y0 + 0.6 * o.speed * t);
      break;
    case Motion::Spin:
      angle = 2 * CV_PI * o.speed * t;
      break;
    default:
      break;
  }
  u = std::clamp(u, 0.0, 1.0);
  v = std::clamp(v, 0.0, 1.0);
  const double cx = r_path + u * std::max(0.0, w - 2 * r_path) - 0.5;
  const double cy = r_path + v * std::max(0.0, h - 2 * r_path) - 0.5;
  alpha.setTo(0);
  draw_shape_coverage(alpha, o.shape, {cx, cy}, r, angle);
  composite(frame, alpha, color_rgb(o.color));
}

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)];
}

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

bool chance(std::mt19937_64& rng, double p) {
  return uniform(rng, 0.0, 1.0) < p;
}

template <typename E>
E any_of(std::mt19937_64& rng, int count) {
  return static_cast<E>(std::uniform_int_distribution<int>(0, count - 1)(rng));
}

bool spin_visible(Shape shape) {
  return shape != Shape::Circle && shape != Shape::Ring;
}

// Start and speed that keep the motion's path inside the frame.
void place(std::mt19937_64& rng, ObjectSpec& o) {
  o.x0 = static_cast<float>(uniform(rng, 0.2, 0.8));
  o.y0 = static_cast<float>(uniform(rng, 0.2, 0.8));
  o.speed = 0;
  switch (o.motion) {
    case Motion::Left:
    case Motion::Right: {
      float start = static_cast<float>(uniform(rng, 0.0, 0.35));
      o.speed = std::min(static_cast<float>(uniform(rng, 0.5, 0.9)), 1.0F - start);
      o.x0 = o.motion == Motion::Right ? start : 1.0F - start;
      break;
    }
    case Motion::Up:
    case Motion::Down: {
      float start = static_cast<float>(uniform(rng, 0.0, 0.35));
      o.speed = std::min(static_cast<float>(uniform(rng, 0.5, 0.9)), 1.0F - start);
      o.y0 = o.motion == Motion::Down ? start : 1.0F - start;
      break;
    }
    case Motion::Bounce:
      o.x0 = static_cast<float>(uniform(rng, 0.0, 1.0));
      o.y0 = static_cast<float>(uniform(rng, 0.0, 1.0));
      o.speed = static_cast<float>(uniform(rng, 1.3, 2.0));
      break;
    case Motion::Spin:
      o.speed = static_cast<float>(uniform(rng, 0.4, 0.7));
      break;
    default:
      break;
  }
}

// Draws a value by its weights. Equal weights keep the uniform draw the world has always used, so
// the world's own mix gives the same clips as ever.
template <typename E, size_t N>
E draw(std::mt19937_64& rng, const std::array<double, N>& weights) {
  if (std::all_of(weights.begin(), weights.end(), [&](double w) { return w == weights[0]; })) {
    return any_of<E>(rng, static_cast<int>(N));
  }
  return static_cast<E>(std::discrete_distribution<int>(weights.begin(), weights.end())(rng));
}

const WorldMix kWorldsOwnMix{};

// Whether the mix can draw an object of this colour on this background in the training split.
bool color_possible(const WorldMix& mix, Background background, ObjectColor color) {
  if (mix.color[size_t(color)] <= 0 || color_clashes(color, background)) return false;
  for (int s = 0; s < kShapeCount; ++s) {
    for (int m = 0; m < kMotionCount; ++m) {
      ObjectSpec o;
      o.shape = Shape(s);
      o.color = color;
      o.motion = Motion(m);
      if (mix.shape[size_t(s)] > 0 && mix.motion[size_t(m)] > 0 &&
          (o.motion != Motion::Spin || spin_visible(o.shape)) && !is_held_out(o)) {
        return true;
      }
    }
  }
  return false;
}

int possible_colors(const WorldMix& mix, Background background) {
  int count = 0;
  for (int c = 0; c < kColorCount; ++c) count += color_possible(mix, background, ObjectColor(c));
  return count;
}

// Fills the attributes a held-out pair leaves open, so that the object is valid on `background`.
ObjectSpec sample_object(std::mt19937_64& rng, Background background, const HeldOutPair* forced,
                         const WorldMix& mix) {
  ObjectSpec o;
  for (;;) {
    o.shape = draw<Shape>(rng, mix.shape);
    o.color = draw<ObjectColor>(rng, mix.color);
    o.motion = draw<Motion>(rng, mix.motion);
    if (forced != nullptr) {
      o.shape = forced->shape;
      if (forced->kind == HeldOutPair::Kind::ColorShape) o.color = forced->color;
      if (forced->kind == HeldOutPair::Kind::ShapeMotion) o.motion = forced->motion;
    }
    if (color_clashes(o.color, background)) continue;
    if (o.motion == Motion::Spin && !spin_visible(o.shape)) continue;
    break;
  }
  o.size = draw<Size>(rng, mix.size);
  place(rng, o);
  return o;
}

// A background on which the mix can draw an object (and the held-out pair's colour, if any).
Background background_for(std::mt19937_64& rng, const HeldOutPair* forced, const WorldMix& mix) {
  std::array<double, kBackgroundCount> weights = mix.background;
  for (int b = 0; b < kBackgroundCount; ++b) {
    if (forced == nullptr && possible_colors(mix, Background(b)) == 0) weights[size_t(b)] = 0;
  }
  for (;;) {
    auto bg = draw<Background>(rng, weights);
    if (forced == nullptr || forced->kind != HeldOutPair::Kind::ColorShape ||
        !color_clashes(forced->color, bg)) {
      return bg;
    }
  }
}

struct MixKind {
  const char* noun;  // "shapes"
  const char* const* names;
  double* weights;
  size_t count;
};

template <size_t N>
MixKind kind(const char* noun, const std::array<const char*, N>& names,
             std::array<double, N>& weights) {
  return {noun, names.data(), weights.data(), N};
}

std::array<MixKind, 5> kinds_of(WorldMix& mix) {
  return {kind("shapes", kShapeNames, mix.shape), kind("colours", kColorNames, mix.color),
          kind("sizes", kSizeNames, mix.size), kind("motions", kMotionNames, mix.motion),
          kind("backgrounds", kBackgroundNames, mix.background)};
}

Error mix_error(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, message);
}

// ---- captions ----------------------------------------------------------------------------------

struct Phrase {
  const char* finite;  // "rolls to the left"
  const char* gerund;  // "rolling to the left"
};

const std::vector<std::string>& shape_words(Shape shape) {
  static const std::array<std::vector<std::string>, kShapeCount> words = {{
      {"ball", "circle", "sphere", "disc", "dot"},
      {"square", "box", "block", "cube"},
      {"triangle", "triangular shape", "wedge"},
      {"star", "star shape", "five-pointed star"},
      {"ring", "hoop", "donut", "loop"},
  }};
  return words[static_cast<int>(shape)];
}

const std::vector<std::string>& size_words(Size size) {
  static const std::array<std::vector<std::string>, kSizeCount> words = {{
      {"small", "little", "tiny"},
      {"medium", "medium-sized", "mid-sized", "modest"},
      {"big", "large", "huge"},
  }};
  return words[static_cast<int>(size)];
}

const std::vector<Phrase>& motion_phrases(Motion motion, Shape shape) {
  static const std::array<std::vector<Phrase>, kMotionCount> phrases = {{
      {{"sits still", "sitting still"},
       {"stays still", "staying still"},
       {"does not move", "not moving"},
       {"rests in place", "resting in place"},
       {"hangs motionless", "hanging motionless"}},
      {{"moves to the left", "moving to the left"},
       {"moves left", "moving left"},
       {"slides left", "sliding left"},
       {"drifts left", "drifting left"},
       {"travels to the left", "travelling to the left"},
       {"glides leftward", "gliding leftward"}},
      {{"moves to the right", "moving to the right"},
       {"moves right", "moving right"},
       {"slides right", "sliding right"},
       {"drifts right", "drifting right"},
       {"travels to the right", "travelling to the right"},
       {"glides rightward", "gliding rightward"}},
      {{"moves up", "moving up"},
       {"rises", "rising"},
       {"floats upward", "floating upward"},
       {"drifts up", "drifting up"},
       {"climbs", "climbing"}},
      {{"moves down", "moving down"},
       {"falls", "falling"},
       {"sinks", "sinking"},
       {"drops", "dropping"},
       {"drifts downward", "drifting downward"}},
      {{"bounces around", "bouncing around"},
       {"bounces", "bouncing"},
       {"bounces off the edges", "bouncing off the edges"},
       {"ricochets around the frame", "ricocheting around the frame"},
       {"bounces back and forth", "bouncing back and forth"}},
      {{"spins", "spinning"},
       {"rotates", "rotating"},
       {"turns in place", "turning in place"},
       {"spins around", "spinning around"}},
      {{"grows", "growing"},
       {"gets bigger", "getting bigger"},
       {"expands", "expanding"},
       {"swells", "swelling"}},
      {{"shrinks", "shrinking"},
       {"gets smaller", "getting smaller"},
       {"contracts", "contracting"},
       {"dwindles", "dwindling"}},
  }};
  // Round things roll; the rest would read oddly.
  static const std::vector<Phrase> roll_left = {{"rolls to the left", "rolling to the left"},
                                                {"rolls left", "rolling left"}};
  static const std::vector<Phrase> roll_right = {{"rolls to the right", "rolling to the right"},
                                                 {"rolls right", "rolling right"}};
  if (shape == Shape::Circle && motion == Motion::Left) return roll_left;
  if (shape == Shape::Circle && motion == Motion::Right) return roll_right;
  return phrases[static_cast<int>(motion)];
}

const std::vector<std::string>& background_phrases(Background background) {
  static const std::array<std::vector<std::string>, kBackgroundCount> phrases = {{
      {"on a dark background", "against a dark night sky", "in front of a navy backdrop",
       "on a dark blue background"},
      {"on a gray background", "against a plain grey backdrop", "in front of a gray wall"},
      {"across a blue sky", "against a clear blue sky", "on a light blue background",
       "in a blue sky", "on a blue sky"},
      {"against a sunset sky", "on an orange and purple gradient", "across a sunset gradient",
       "on a sunset gradient"},
      {"over a grassy field", "above a meadow under a blue sky", "in front of green grass and sky",
       "on a grassy field"},
      {"over the sea", "above the ocean under a clear sky", "over open water",
       "in front of the sea", "on the sea"},
  }};
  return phrases[static_cast<int>(background)];
}

bool starts_with_vowel(const std::string& s) {
  return !s.empty() && std::string("aeiou").find(s[0]) != std::string::npos;
}

std::string noun_phrase(const ObjectSpec& o, std::mt19937_64& rng) {
  std::string adjectives = pick(rng, size_words(o.size)) + " " + to_string(o.color);
  std::string noun = pick(rng, shape_words(o.shape));
  int article = std::uniform_int_distribution<int>(0, 5)(rng);
  if (article == 0) return "one " + adjectives + " " + noun;
  return (starts_with_vowel(adjectives) ? "an " : "a ") + adjectives + " " + noun;
}

std::string verb_phrase(const ObjectSpec& o, std::mt19937_64& rng, bool gerund) {
  static const std::vector<std::string> adverbs = {"slowly", "smoothly", "steadily", "gently",
                                                   "quickly"};
  const Phrase& p = pick(rng, motion_phrases(o.motion, o.shape));
  std::string verb = gerund ? p.gerund : p.finite;
  bool moving = o.motion != Motion::Still;
  if (moving && chance(rng, 0.3)) verb = pick(rng, adverbs) + " " + verb;
  return verb;
}

}  // namespace

const char* to_string(Shape shape) {
  return kShapeNames[static_cast<int>(shape)];
}
const char* to_string(ObjectColor color) {
  return kColorNames[static_cast<int>(color)];
}
const char* to_string(Size size) {
  return kSizeNames[static_cast<int>(size)];
}
const char* to_string(Motion motion) {
  return kMotionNames[static_cast<int>(motion)];
}
const char* to_string(Background background) {
  return kBackgroundNames[static_cast<int>(background)];
}
Shape parse_shape(std::string_view text) {
  return parse_enum<Shape>(text, kShapeNames, "shape");
}
ObjectColor parse_color(std::string_view text) {
  return parse_enum<ObjectColor>(text, kColorNames, "colour");
}
Size parse_size(std::string_view text) {
  return parse_enum<Size>(text, kSizeNames, "size");
}
Motion parse_motion(std::string_view text) {
  return parse_enum<Motion>(text, kMotionNames, "motion");
}
Background parse_background(std::string_view text) {
  return parse_enum<Background>(text, kBackgroundNames, "background");
}

constexpr std::array<const char*, 2> kSplitNames = {"train", "heldout"};

const char* to_string(Split split) {
  return kSplitNames[static_cast<int>(split)];
}
Split parse_split(std::string_view text) {
  if (text == "held-out") return Split::HeldOut;
  return parse_enum<Split>(text, kSplitNames, "split");
}

cv::Vec3b color_rgb(ObjectColor color) {
  const auto& c = kColorRgb[static_cast<int>(color)];
  return {c[0], c[1], c[2]};
}

double size_radius_fraction(Size size) {
  // At 32x32 a small object still spans 9 px, over two 4x4 latent patches each way.
  constexpr std::array<double, kSizeCount> kFractions = {0.14, 0.22, 0.32};
  return kFractions[static_cast<int>(size)];
}

cv::Mat render_background(Background background, media::FrameSize size) {
  cv::Mat out(size.height_px, size.width_px, CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    out.row(y).setTo(cv::Scalar(background_row(background, (y + 0.5) / out.rows)));
  }
  return out;
}

bool color_clashes(ObjectColor color, Background background) {
  // Blue is what these backgrounds are called or described as ("a dark blue background", "under a
  // blue sky"), so a blue object would make the caption ambiguous even where it shows.
  if (color == ObjectColor::Blue &&
      (background == Background::Night || background == Background::Sky ||
       background == Background::SkyOverGrass || background == Background::Sea)) {
    return true;
  }
  const cv::Vec3b c = color_rgb(color);
  for (int i = 0; i < 64; ++i) {
    cv::Vec3b b = background_row(background, (i + 0.5) / 64);
    double d =
        std::sqrt(std::pow(c[0] - b[0], 2) + std::pow(c[1] - b[1], 2) + std::pow(c[2] - b[2], 2));
    if (d < kClashDistance) return true;
  }
  return false;
}

std::vector<cv::Mat> render_clip(const ClipSpec& spec, media::FrameSize size, int frames,
                                 std::vector<cv::Mat>* coverage) {
  if (spec.objects.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "clip spec has no objects; give 1 or 2");
  }
  if (size.width_px < 16 || size.height_px < 16) {
    throw Error(ErrorCategory::InvalidArgument, "frame size " + std::to_string(size.width_px) +
                                                    "x" + std::to_string(size.height_px) +
                                                    " is too small; both sides must be >= 16");
  }
  if (frames < 2) {
    throw Error(ErrorCategory::InvalidArgument,
                "frame count " + std::to_string(frames) + " is too small; a clip needs >= 2");
  }
  const cv::Mat background = render_background(spec.background, size);
  cv::Mat alpha(size.height_px, size.width_px, CV_8UC1);
  std::vector<cv::Mat> out;
  out.reserve(frames);
  if (coverage != nullptr) coverage->clear();
  for (int i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / (frames - 1);
    cv::Mat frame = background.clone();
    cv::Mat covered;
    if (coverage != nullptr) covered = cv::Mat::zeros(size.height_px, size.width_px, CV_8UC1);
    for (const auto& o : spec.objects) {
      draw_object(frame, alpha, o, t);
      if (coverage != nullptr) cv::max(covered, alpha, covered);
    }
    out.push_back(frame);
    if (coverage != nullptr) coverage->push_back(covered);
  }
  return out;
}

const std::vector<HeldOutPair>& held_out_pairs() {
  using K = HeldOutPair::Kind;
  static const std::vector<HeldOutPair> pairs = {
      {K::ColorShape, ObjectColor::Red, Shape::Star, Motion::Still},
      {K::ColorShape, ObjectColor::Blue, Shape::Triangle, Motion::Still},
      {K::ColorShape, ObjectColor::Yellow, Shape::Ring, Motion::Still},
      {K::ColorShape, ObjectColor::Green, Shape::Square, Motion::Still},
      {K::ShapeMotion, ObjectColor::Red, Shape::Circle, Motion::Shrink},
      {K::ShapeMotion, ObjectColor::Red, Shape::Square, Motion::Bounce},
      {K::ShapeMotion, ObjectColor::Red, Shape::Star, Motion::Up},
      {K::ShapeMotion, ObjectColor::Red, Shape::Triangle, Motion::Spin},
  };
  return pairs;
}

bool is_held_out(const ObjectSpec& object) {
  for (const auto& p : held_out_pairs()) {
    if (p.shape != object.shape) continue;
    if (p.kind == HeldOutPair::Kind::ColorShape && p.color == object.color) return true;
    if (p.kind == HeldOutPair::Kind::ShapeMotion && p.motion == object.motion) return true;
  }
  return false;
}

ClipSpec sample_clip(std::mt19937_64& rng, Split split) {
  return sample_clip(rng, split, kWorldsOwnMix);
}

ClipSpec sample_clip(std::mt19937_64& rng, Split split, const WorldMix& training_mix) {
  const WorldMix& mix = split == Split::Train ? training_mix : kWorldsOwnMix;
  ClipSpec spec;
  spec.seed = rng();
  const HeldOutPair* forced = nullptr;
  if (split == Split::HeldOut) forced = &pick(rng, held_out_pairs());
  spec.background = background_for(rng, forced, mix);
  int count = chance(rng, mix.second_object) ? 2 : 1;
  if (forced == nullptr && possible_colors(mix, spec.background) < 2) count = 1;
  while (static_cast<int>(spec.objects.size()) < count) {
    const bool main = spec.objects.empty();
    ObjectSpec o = sample_object(rng, spec.background, main ? forced : nullptr, mix);
    if (split == Split::Train && is_held_out(o)) continue;
    if (!main && o.color == spec.objects.front().color) continue;
    spec.objects.push_back(o);
  }
  return spec;
}

bool WorldMix::operator==(const WorldMix& other) const {
  return shape == other.shape && color == other.color && size == other.size &&
         motion == other.motion && background == other.background &&
         second_object == other.second_object;
}

void WorldMix::validate() const {
  WorldMix copy = *this;
  for (const MixKind& k : kinds_of(copy)) {
    double total = 0;
    for (size_t i = 0; i < k.count; ++i) {
      if (!(k.weights[i] >= 0 && k.weights[i] <= 1000)) {
        throw mix_error(std::string("world mix: the weight of ") + k.names[i] +
                        " must be in [0, 1000]");
      }
      total += k.weights[i];
    }
    if (!(total > 0))
      throw mix_error(std::string("world mix: the weights of the ") + k.noun + " are all 0");
  }
  if (!(second_object >= 0 && second_object <= 1)) {
    throw mix_error("world mix: the chance of a second object (second) must be in [0, 1]");
  }
  for (int b = 0; b < kBackgroundCount; ++b) {
    if (background[size_t(b)] > 0 && possible_colors(*this, Background(b)) > 0) return;
  }
  throw mix_error(
      "world mix: it leaves no training object: every combination of its shapes, colours, "
      "motions and backgrounds clashes with the background, is held out or spins a round shape");
}

WorldMix parse_world_mix(std::string_view text, bool only_shapes) {
  WorldMix mix;
  if (text == "all" && !only_shapes) return mix;
  auto kinds = kinds_of(mix);
  std::array<std::vector<bool>, 5> bare, named;
  for (size_t k = 0; k < kinds.size(); ++k) {
    bare[k].assign(kinds[k].count, false);
    named[k].assign(kinds[k].count, false);
  }
  const size_t searched = only_shapes ? 1 : kinds.size();  // --shape-weights: shapes only
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find(',', at), text.size());
    const std::string item(text.substr(at, end - at));
    at = end + 1;
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    std::optional<double> weight;
    if (eq != std::string::npos) {
      const std::string number = item.substr(eq + 1);
      char* parsed_end = nullptr;
      const double w = std::strtod(number.c_str(), &parsed_end);
      if (number.empty() || *parsed_end != '\0') {
        throw mix_error("the weight of " + name + " must be a number, not '" + number + "'");
      }
      weight = w;
    }
    if (name == "second" && !only_shapes) {
      if (!weight) throw mix_error("'second' needs a chance: second=P, e.g. second=0");
      mix.second_object = *weight;
      continue;
    }
    bool found = false;
    for (size_t k = 0; k < searched && !found; ++k) {
      for (size_t i = 0; i < kinds[k].count && !found; ++i) {
        if (name != kinds[k].names[i]) continue;
        found = true;
        if (only_shapes && !weight) {
          throw mix_error("'" + item + "' is not SHAPE=WEIGHT (e.g. star=3,triangle=2)");
        }
        kinds[k].weights[i] = weight.value_or(1.0);
        named[k][i] = true;
        bare[k][i] = !weight;
      }
    }
    if (!found) {
      std::string valid;
      for (size_t k = 0; k < searched; ++k) {
        for (size_t i = 0; i < kinds[k].count; ++i) {
          valid += (valid.empty() ? "" : ", ") + std::string(kinds[k].names[i]);
        }
      }
      if (!only_shapes) valid += ", second (or all alone: the world's own mix)";
      throw mix_error("unknown name '" + name + "' in '" + std::string(text) +
                      "'; valid: " + valid);
    }
  }
  for (size_t k = 0; k < kinds.size(); ++k) {
    if (std::find(bare[k].begin(), bare[k].end(), true) == bare[k].end()) continue;
    for (size_t i = 0; i < kinds[k].count; ++i) {
      if (!named[k][i]) kinds[k].weights[i] = 0;
    }
  }
  mix.validate();
  return mix;
}

std::string to_string(const WorldMix& mix) {
  WorldMix copy = mix;
  const auto kinds = kinds_of(copy);
  std::string out;
  const auto add = [&](const std::string& name, double w) {
    char number[32];
    std::snprintf(number, sizeof number, "%g", w);
    out += (out.empty() ? "" : ",") + name + "=" + number;
  };
  for (const MixKind& kind : kinds) {
    const double* begin = kind.weights;
    const double* end = begin + kind.count;
    // Only some values, each at 1: their bare names say it shortest.
    const bool bare = std::all_of(begin, end, [](double w) { return w == 0 || w == 1; }) &&
                      std::find(begin, end, 0.0) != end;
    for (size_t i = 0; i < kind.count; ++i) {
      if (bare && kind.weights[i] == 1) {
        out += (out.empty() ? "" : ",") + std::string(kind.names[i]);
      } else if (!bare && kind.weights[i] != 1) {  // the world's own weight
        add(kind.names[i], kind.weights[i]);
      }
    }
  }
  if (mix.second_object != kWorldsOwnMix.second_object) add("second", mix.second_object);
  return out;
}

std::string caption(const ClipSpec& spec, std::mt19937_64& rng) {
  RF_CHECK(!spec.objects.empty(), "caption of an empty clip spec");
  const std::string bg = pick(rng, background_phrases(spec.background));
  const int form = std::uniform_int_distribution<int>(0, 4)(rng);
  const bool gerund = form >= 2;
  std::string subject =
      noun_phrase(spec.objects[0], rng) + " " + verb_phrase(spec.objects[0], rng, gerund);
  for (size_t i = 1; i < spec.objects.size(); ++i) {
    subject += (gerund ? " and " : pick(rng, std::vector<std::string>{" and ", " while "})) +
               noun_phrase(spec.objects[i], rng) + " " + verb_phrase(spec.objects[i], rng, gerund);
  }
  std::string text;
  switch (form) {
    case 0:
      text = subject + " " + bg;
      break;
    case 1:
      text = bg + ", " + subject;
      break;
    case 2:
      text = subject + " " + bg;
      break;
    case 3:
      text = (spec.objects.size() > 1 ? "there are " : "there is ") + subject + " " + bg;
      break;
    default:
      text = pick(rng, std::vector<std::string>{"video of ", "a clip of ", "footage of "}) +
             subject + " " + bg;
      break;
  }
  if (chance(rng, 0.7)) text[0] = static_cast<char>(std::toupper(text[0]));
  if (chance(rng, 0.4)) text += ".";
  return text;
}

std::string canonical_caption(const ClipSpec& spec) {
  static constexpr std::array<const char*, kMotionCount> kMotionText = {
      "staying still", "moving left", "moving right", "moving up", "moving down",
      "bouncing",      "spinning",    "growing",      "shrinking"};
  static constexpr std::array<const char*, kBackgroundCount> kBackgroundText = {
      "a dark background", "a gray background", "a blue sky",
      "a sunset gradient", "a grassy field",    "the sea"};
  std::string text;
  for (size_t i = 0; i < spec.objects.size(); ++i) {
    const auto& o = spec.objects[i];
    text += std::string(i ? " and " : "") + "a " + to_string(o.size) + " " + to_string(o.color) +
            " " + to_string(o.shape) + " " + kMotionText[static_cast<int>(o.motion)];
  }
  return text + " on " + kBackgroundText[static_cast<int>(spec.background)];
}

}  // namespace reelforge::dataset
