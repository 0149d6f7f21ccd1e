#pragma once
// The procedural world ReelForge's built-in model trains on (issue 7): small clips of one or two
// simple objects (a shape with a colour, a size and a motion) over a background, rendered with
// OpenCV, captioned in varied English, and split so that some attribute combinations are never
// seen in training. read_clip (score.hpp) reads the attributes back, which makes a generated clip
// scorable without people.

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "reelforge/media/presets.hpp"

namespace reelforge::dataset {

enum class Shape { Circle, Square, Triangle, Star, Ring };
enum class ObjectColor { Red, Orange, Yellow, Green, Blue, Purple, White, Black };
enum class Size { Small, Medium, Big };
enum class Motion { Still, Left, Right, Up, Down, Bounce, Spin, Grow, Shrink };
// Night: plain dark navy; Gray: plain mid grey; Sky: plain light blue; Sunset: vertical gradient
// from orange to plum; SkyOverGrass: sky above a green field; Sea: sky above dark blue water.
enum class Background { Night, Gray, Sky, Sunset, SkyOverGrass, Sea };

inline constexpr int kShapeCount = 5;
inline constexpr int kColorCount = 8;
inline constexpr int kSizeCount = 3;
inline constexpr int kMotionCount = 9;
inline constexpr int kBackgroundCount = 6;

// Lower-case names ("circle", "red", "small", "left", "sky_over_grass"); parse_* accept exactly
// these and throw Error(InvalidArgument) listing the valid names otherwise.
const char* to_string(Shape shape);
const char* to_string(ObjectColor color);
const char* to_string(Size size);
const char* to_string(Motion motion);
const char* to_string(Background background);
Shape parse_shape(std::string_view text);
ObjectColor parse_color(std::string_view text);
Size parse_size(std::string_view text);
Motion parse_motion(std::string_view text);
Background parse_background(std::string_view text);

// The RGB value an object of this colour is painted with.
cv::Vec3b color_rgb(ObjectColor color);
// Circumradius of an object of this size as a fraction of the frame's short side. Every shape is
// drawn inside its circumcircle, so the size reads back the same way for every shape.
double size_radius_fraction(Size size);
// The background alone at `size` (CV_8UC3 RGB); the scorer compares frames against these.
cv::Mat render_background(Background background, media::FrameSize size);
// Draws the anti-aliased coverage (255 = fully covered) of `shape` with circumradius `radius_px`
// around `centre_px` (pixel-centre coordinates) into a CV_8UC1 image; angle 0 is upright (a
// point straight up). render_clip composites these; the scorer fits them to what it sees.
void draw_shape_coverage(cv::Mat& coverage, Shape shape, cv::Point2d centre_px, double radius_px,
                         double angle_rad);
// True when an object of `color` would be hard to tell from some part of `background` (RGB
// distance < 120 anywhere, e.g. green on grass) or share its name (blue on any sky or sea); the
// sampler never produces such a pair.
bool color_clashes(ObjectColor color, Background background);

struct ObjectSpec {
  Shape shape = Shape::Circle;
  ObjectColor color = ObjectColor::Red;
  Size size = Size::Medium;
  Motion motion = Motion::Still;
  // Start centre as fractions (0..1) of the range the centre can take with the object inside the
  // frame: 0 touches the left/top edge, 1 the right/bottom edge.
  float x0 = 0.5F;
  float y0 = 0.5F;
  // Left/Right/Up/Down: distance travelled over the clip in the same units (x0 + speed <= 1 keeps
  // it inside). Bounce: horizontal travel (vertical is 0.6x), reflected at the edges. Spin: turns
  // over the clip. Still/Grow/Shrink: unused.
  float speed = 0.5F;
};

struct ClipSpec {
  Background background = Background::Gray;
  std::vector<ObjectSpec> objects;  // 1 or 2; the first is the main object
  uint64_t seed = 0;  // the sampler's draw, kept for provenance; rendering is not random
};

// Renders `frames` frames (CV_8UC3 RGB, `size`), anti-aliased, later objects drawn on top.
// Deterministic: the same spec gives identical pixels. Grow/Shrink scale the object from 0.76x to
// 1.24x of its size (or back), a 1.63x change. Error(InvalidArgument) for an empty spec, a size
// below 16x16 or frames < 2. With `coverage`, also fills it with one CV_8UC1 image per frame: the
// objects' combined coverage (255 = fully covered), where the trainer weights its loss.
std::vector<cv::Mat> render_clip(const ClipSpec& spec, media::FrameSize size, int frames,
                                 std::vector<cv::Mat>* coverage = nullptr);

enum class Split { Train, HeldOut };
const char* to_string(Split split);  // "train", "heldout"
// "train" or "heldout" ("held-out" too); Error(InvalidArgument) naming the valid ones otherwise.
Split parse_split(std::string_view text);

// Attribute combinations held out of training. Split::Train never produces an object with one of
// them; Split::HeldOut always gives its main object exactly one (the rest is sampled freely).
//   (colour, shape):  red star, blue triangle, yellow ring, green square
//   (shape, motion):  circle shrinking, square bouncing, star moving up, triangle spinning
struct HeldOutPair {
  enum class Kind { ColorShape, ShapeMotion } kind;
  ObjectColor color;  // Kind::ColorShape only
  Shape shape;
  Motion motion;  // Kind::ShapeMotion only
};
const std::vector<HeldOutPair>& held_out_pairs();
// True when `object` has one of the held-out combinations.
bool is_held_out(const ObjectSpec& object);

// Samples a clip: one object (75%) or two of different colours (25%); colours never clash with
// the background; Spin only for shapes whose rotation shows (square, triangle, star).
ClipSpec sample_clip(std::mt19937_64& rng, Split split);

// A training mix: how often each value of each attribute is drawn for a training clip, relative
// to the other values of its kind (0 leaves a value out), and the chance of a second object. The
// default is the world's own mix. A narrower mix is a smaller world (one big white star on gray),
// which a curriculum widens step by step.
struct WorldMix {
  std::array<double, kShapeCount> shape = {1, 1, 1, 1, 1};
  std::array<double, kColorCount> color = {1, 1, 1, 1, 1, 1, 1, 1};
  std::array<double, kSizeCount> size = {1, 1, 1};
  std::array<double, kMotionCount> motion = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::array<double, kBackgroundCount> background = {1, 1, 1, 1, 1, 1};
  double second_object = 0.25;

  bool operator==(const WorldMix& other) const;
  bool operator!=(const WorldMix& other) const { return !(*this == other); }
  // Error(InvalidArgument) naming the problem: a weight outside [0, 1000], a kind whose weights
  // are all 0, second_object outside [0, 1], or a mix that leaves no valid training object
  // (every combination clashes with its background, is held out, or spins a round shape).
  void validate() const;
};

// "star=3,small=0,second=0" or "star,big,white,gray,still": a weight for any value by its name
// (the names are unique across kinds); a bare name keeps only the bare-named values of its kind
// (weight 1) and leaves the rest out, unless they are given a weight; "second=P" is the chance of
// a second object; "all" alone is the world's own mix. Values not named keep weight 1. With
// `only_shapes`, names of other kinds are refused (`--shape-weights`). Error(InvalidArgument)
// naming the item otherwise; validated.
WorldMix parse_world_mix(std::string_view text, bool only_shapes = false);
// The mix in parse_world_mix's syntax, only what differs from the world's own
// ("star=3,second=0"; "" for the world's own mix).
std::string to_string(const WorldMix& mix);

// A training clip drawn by `mix` (Split::Train), or a held-out clip, which is always drawn from
// the world's own mix whatever `mix` is, so that the evaluation's prompts never move. The world's
// own mix gives exactly the clips of sample_clip(rng, split). A second object is drawn only where
// the mix allows a second colour on the clip's background.
ClipSpec sample_clip(std::mt19937_64& rng, Split split, const WorldMix& mix);

// A varied English description (synonyms, word orders, optional adverbs and articles,
// capitalisation); deterministic for a given rng state.
std::string caption(const ClipSpec& spec, std::mt19937_64& rng);
// One fixed template, for evaluation prompts: "a small red circle moving left on a blue sky".
std::string canonical_caption(const ClipSpec& spec);

}  // namespace reelforge::dataset
