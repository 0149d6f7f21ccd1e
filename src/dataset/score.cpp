#include "reelforge/dataset/score.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <opencv2/imgproc.hpp>

#include "reelforge/core/error.hpp"

namespace reelforge::dataset {
namespace {

// RGB distance from the background beyond which a pixel belongs to an object. Object colours sit
// >= 120 from every background (color_clashes), so this keeps pixels more than ~half covered.
constexpr double kMaskDistance = 60.0;
// For the outline, a pixel must also lie at least this share of the way from the background
// towards the object's colour. A decoder rings around an object: a fringe darker or lighter than
// the background, or off in hue, which is far from the background yet not the object; taken into
// the outline it fills a star's notches and the star reads as a square.
constexpr double kTowardObject = 0.25;

double rgb_distance(const cv::Vec3b& a, const cv::Vec3b& b) {
  const double d0 = a[0] - b[0];
  const double d1 = a[1] - b[1];
  const double d2 = a[2] - b[2];
  return std::sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Median distance between the frame's border pixels and the background's: an object that touches
// the edge covers a minority of the border and does not move the median.
double border_distance(const cv::Mat& frame, const cv::Mat& background) {
  std::vector<double> d;
  const int w = frame.cols;
  const int h = frame.rows;
  d.reserve(static_cast<size_t>(2 * (w + h)));
  for (int x = 0; x < w; ++x) {
    d.push_back(rgb_distance(frame.at<cv::Vec3b>(0, x), background.at<cv::Vec3b>(0, x)));
    d.push_back(rgb_distance(frame.at<cv::Vec3b>(h - 1, x), background.at<cv::Vec3b>(h - 1, x)));
  }
  for (int y = 1; y < h - 1; ++y) {
    d.push_back(rgb_distance(frame.at<cv::Vec3b>(y, 0), background.at<cv::Vec3b>(y, 0)));
    d.push_back(rgb_distance(frame.at<cv::Vec3b>(y, w - 1), background.at<cv::Vec3b>(y, w - 1)));
  }
  return median(std::move(d));
}

// The main object in one frame: the largest connected region of non-background pixels.
struct FrameObject {
  cv::Mat mask;      // CV_8UC1, 255 on the region
  cv::Mat distance;  // CV_32F distance of each pixel from the background
  double area_px = 0;
  double filled_px = 0;  // area with holes filled
  double radius_px = 0;  // enclosing circle through the outermost pixel centres
  cv::Point2d circle_centre;
  cv::Point2d centroid;
  bool plausible = false;
};

// Where `pixel` lies on the way from `background` (0) to `object` (1), projected onto that line.
double share_toward(const cv::Vec3b& pixel, const cv::Vec3b& background, const cv::Vec3b& object) {
  double along = 0;
  double length2 = 0;
  for (int c = 0; c < 3; ++c) {
    const double step = double(object[c]) - background[c];
    along += (double(pixel[c]) - background[c]) * step;
    length2 += step * step;
  }
  return length2 > 0 ? along / length2 : 0;
}

// The object's pixels are those far from the background; with `object_rgb`, only those that are
// also on the way towards that colour (kTowardObject).
FrameObject find_object(const cv::Mat& frame, const cv::Mat& background,
                        const cv::Vec3b* object_rgb = nullptr) {
  FrameObject out;
  out.distance.create(frame.size(), CV_32F);
  cv::Mat any(frame.size(), CV_8UC1);
  for (int y = 0; y < frame.rows; ++y) {
    for (int x = 0; x < frame.cols; ++x) {
      const cv::Vec3b& pixel = frame.at<cv::Vec3b>(y, x);
      const cv::Vec3b& back = background.at<cv::Vec3b>(y, x);
      const double d = rgb_distance(pixel, back);
      out.distance.at<float>(y, x) = static_cast<float>(d);
      const bool toward =
          object_rgb == nullptr || share_toward(pixel, back, *object_rgb) >= kTowardObject;
      any.at<uint8_t>(y, x) = d > kMaskDistance && toward ? 255 : 0;
    }
  }
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int n = cv::connectedComponentsWithStats(any, labels, stats, centroids, 8, CV_32S);
  int best = 0;
  double total = 0;
  for (int i = 1; i < n; ++i) {
    const int area = stats.at<int>(i, cv::CC_STAT_AREA);
    total += area;
    if (best == 0 || area > stats.at<int>(best, cv::CC_STAT_AREA)) best = i;
  }
  if (best == 0) return out;
  out.mask = labels == best;
  out.area_px = stats.at<int>(best, cv::CC_STAT_AREA);
  out.centroid = {centroids.at<double>(best, 0), centroids.at<double>(best, 1)};

  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(out.mask.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  std::vector<cv::Point> points;
  for (const auto& c : contours) points.insert(points.end(), c.begin(), c.end());
  cv::Mat filled = cv::Mat::zeros(frame.size(), CV_8UC1);
  cv::drawContours(filled, contours, -1, cv::Scalar(255), cv::FILLED);
  out.filled_px = cv::countNonZero(filled);
  cv::Point2f centre;
  float radius = 0;
  cv::minEnclosingCircle(points, centre, radius);
  // Contour points are pixel centres, so the region reaches about half a pixel further; the
  // anti-aliased fringe that passes the mask threshold adds about as much again to the drawn
  // radius.
  out.radius_px = radius;
  out.circle_centre = centre;

  const double frame_px = static_cast<double>(frame.rows) * frame.cols;
  const double fraction = out.area_px / frame_px;
  out.plausible = out.area_px >= 6 && fraction <= 0.5 && out.area_px >= 0.75 * total;
  return out;
}

ObjectColor nearest_color(const cv::Vec3b& rgb) {
  ObjectColor best = ObjectColor::Red;
  double best_d = 1e9;
  for (int i = 0; i < kColorCount; ++i) {
    const double d = rgb_distance(rgb, color_rgb(static_cast<ObjectColor>(i)));
    if (d < best_d) {
      best_d = d;
      best = static_cast<ObjectColor>(i);
    }
  }
  return best;
}

// Median colour of the object's most background-unlike half of pixels: anti-aliased edges mix
// in the background and would pull small objects towards it.
cv::Vec3b object_color(const std::vector<cv::Mat>& frames, const std::vector<FrameObject>& objs) {
  std::vector<std::pair<float, cv::Vec3b>> px;
  for (size_t f = 0; f < frames.size(); ++f) {
    if (!objs[f].plausible) continue;
    for (int y = 0; y < frames[f].rows; ++y) {
      for (int x = 0; x < frames[f].cols; ++x) {
        if (objs[f].mask.at<uint8_t>(y, x) == 0) continue;
        px.emplace_back(objs[f].distance.at<float>(y, x), frames[f].at<cv::Vec3b>(y, x));
      }
    }
  }
  std::sort(px.begin(), px.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  px.resize((px.size() + 1) / 2);
  cv::Vec3b out;
  for (int c = 0; c < 3; ++c) {
    std::vector<double> channel;
    channel.reserve(px.size());
    for (const auto& p : px) channel.push_back(p.second[c]);
    out[c] = cv::saturate_cast<uint8_t>(median(std::move(channel)));
  }
  return out;
}

double mask_iou(const cv::Mat& a, const cv::Mat& b) {
  const double inter = cv::countNonZero(a & b);
  const double uni = cv::countNonZero(a | b);
  return uni > 0 ? inter / uni : 1.0;
}

// How well the region matches `shape` drawn into its enclosing circle at the best rotation:
// fitting the world's own drawings stays reliable down to objects a few pixels wide, where
// contour features (vertex counts, circularity) are mostly quantisation noise.
double shape_fit(const FrameObject& o, Shape shape) {
  const double r = o.radius_px;
  const cv::Rect frame_rect(0, 0, o.mask.cols, o.mask.rows);
  const cv::Rect roi =
      cv::Rect(static_cast<int>(std::floor(o.circle_centre.x - r)) - 2,
               static_cast<int>(std::floor(o.circle_centre.y - r)) - 2,
               static_cast<int>(std::ceil(2 * r)) + 5, static_cast<int>(std::ceil(2 * r)) + 5) &
      frame_rect;
  const cv::Mat seen = o.mask(roi);
  const cv::Point2d centre = o.circle_centre - cv::Point2d(roi.x, roi.y);
  // Rotations over one symmetry period; round shapes need one.
  constexpr int kSteps = 10;
  double period = 0;
  if (shape == Shape::Square) period = CV_PI / 2;
  if (shape == Shape::Triangle) period = 2 * CV_PI / 3;
  if (shape == Shape::Star) period = 2 * CV_PI / 5;
  const int steps = period > 0 ? kSteps : 1;
  double best = 0;
  cv::Mat coverage(roi.size(), CV_8UC1);
  // The enclosing circle runs through the outermost pixels that passed the mask threshold, up to
  // a pixel outside the drawn radius; try the radii in between.
  for (double shrink_px : {0.0, 0.5, 1.0}) {
    for (int i = 0; i < steps; ++i) {
      coverage.setTo(0);
      draw_shape_coverage(coverage, shape, centre, r - shrink_px, period * i / steps);
      // About where the mask threshold cuts an object of a typical colour.
      best = std::max(best, mask_iou(seen, coverage > 100));
    }
  }
  return best;
}

Shape classify_shape(const std::vector<FrameObject>& track) {
  // A few frames spread over the clip: enough to outvote one unlucky pixel grid.
  constexpr size_t kFrames = 5;
  std::array<double, kShapeCount> score{};
  const size_t step = std::max<size_t>(1, track.size() / kFrames);
  for (size_t i = step / 2; i < track.size(); i += step) {
    for (int s = 0; s < kShapeCount; ++s) score[s] += shape_fit(track[i], static_cast<Shape>(s));
  }
  return static_cast<Shape>(std::max_element(score.begin(), score.end()) - score.begin());
}

Size classify_size(double radius_fraction) {
  // Geometric midpoints between the nominal 0.14 / 0.22 / 0.32.
  if (radius_fraction < 0.1755) return Size::Small;
  if (radius_fraction < 0.2653) return Size::Medium;
  return Size::Big;
}

int reversals(const std::vector<double>& steps, double eps) {
  int count = 0;
  int last_sign = 0;
  for (double s : steps) {
    if (std::fabs(s) <= eps) continue;
    const int sign = s > 0 ? 1 : -1;
    if (last_sign != 0 && sign != last_sign) ++count;
    last_sign = sign;
  }
  return count;
}

Motion classify_motion(const std::vector<FrameObject>& track, double short_px) {
  const size_t n = track.size();
  const size_t quarter = std::max<size_t>(1, n / 4);
  double early = 0;
  double late = 0;
  for (size_t i = 0; i < quarter; ++i) {
    early += track[i].filled_px;
    late += track[n - 1 - i].filled_px;
  }
  const double growth = late / std::max(early, 1.0);
  if (growth > 1.5) return Motion::Grow;
  if (growth < 1.0 / 1.5) return Motion::Shrink;

  std::vector<double> dx;
  std::vector<double> dy;
  cv::Point2d lo = track.front().centroid;
  cv::Point2d hi = lo;
  for (size_t i = 1; i < n; ++i) {
    dx.push_back(track[i].centroid.x - track[i - 1].centroid.x);
    dy.push_back(track[i].centroid.y - track[i - 1].centroid.y);
    lo = {std::min(lo.x, track[i].centroid.x), std::min(lo.y, track[i].centroid.y)};
    hi = {std::max(hi.x, track[i].centroid.x), std::max(hi.y, track[i].centroid.y)};
  }
  // A bounce covers at least ~0.23 of the short side; a spinning shape's centroid only jitters by
  // a pixel, which at 32x32 can still flip the sign of a step.
  const double extent = std::max(hi.x - lo.x, hi.y - lo.y);
  const double eps = 0.02 * short_px;
  if (extent > 0.12 * short_px && reversals(dx, eps) + reversals(dy, eps) >= 1) {
    return Motion::Bounce;
  }
  const double net_x = track.back().centroid.x - track.front().centroid.x;
  const double net_y = track.back().centroid.y - track.front().centroid.y;
  if (std::hypot(net_x, net_y) > 0.06 * short_px) {
    if (std::fabs(net_x) >= std::fabs(net_y)) return net_x < 0 ? Motion::Left : Motion::Right;
    return net_y < 0 ? Motion::Up : Motion::Down;
  }
  // In place: a spinning outline changes from frame to frame, a still one does not.
  double change = 0;
  for (size_t i = 1; i < n; ++i) change += 1.0 - mask_iou(track[i - 1].mask, track[i].mask);
  change /= static_cast<double>(n - 1);
  return change > 0.08 ? Motion::Spin : Motion::Still;
}

}  // namespace

ClipReading read_clip(const std::vector<cv::Mat>& frames) {
  if (frames.size() < 2) {
    throw Error(ErrorCategory::InvalidArgument,
                "read_clip needs >= 2 frames; got " + std::to_string(frames.size()));
  }
  const cv::Size size = frames.front().size();
  for (const auto& f : frames) {
    if (f.type() != CV_8UC3 || f.size() != size || f.rows < 3 || f.cols < 3) {
      throw Error(ErrorCategory::InvalidArgument,
                  "read_clip needs equal-size CV_8UC3 RGB frames of at least 3x3");
    }
  }
  const media::FrameSize frame_size{size.width, size.height};

  ClipReading reading;
  std::array<cv::Mat, kBackgroundCount> backgrounds;
  double best = 1e18;
  for (int b = 0; b < kBackgroundCount; ++b) {
    backgrounds[b] = render_background(static_cast<Background>(b), frame_size);
    double total = 0;
    for (const auto& f : frames) total += border_distance(f, backgrounds[b]);
    if (total < best) {
      best = total;
      reading.background = static_cast<Background>(b);
    }
  }
  const cv::Mat& background = backgrounds[static_cast<int>(reading.background)];

  std::vector<FrameObject> objects;
  objects.reserve(frames.size());
  int plausible = 0;
  for (const auto& f : frames) {
    objects.push_back(find_object(f, background));
    plausible += objects.back().plausible ? 1 : 0;
  }
  reading.stability = static_cast<double>(plausible) / static_cast<double>(frames.size());
  reading.found = reading.stability >= 0.5;
  if (!reading.found) return reading;

  const cv::Vec3b object_rgb = object_color(frames, objects);
  reading.color = nearest_color(object_rgb);

  std::vector<FrameObject> track;
  std::vector<FrameObject> outlines;  // the same frames without what is not the object's colour
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!objects[i].plausible) continue;
    track.push_back(objects[i]);
    FrameObject outline = find_object(frames[i], background, &object_rgb);
    if (outline.plausible) outlines.push_back(std::move(outline));
  }
  // Size, motion and stability keep the whole region: a moving object's trail of mixed colours
  // belongs to where it is.
  reading.shape = classify_shape(outlines.empty() ? track : outlines);
  std::vector<double> radii;
  for (const auto& o : track) radii.push_back(o.radius_px);
  const double short_px = std::min(size.width, size.height);
  // The median radius is the middle of a grow or shrink, where the object has its nominal size.
  reading.size = classify_size(median(radii) / short_px);
  reading.motion = classify_motion(track, short_px);
  return reading;
}

}  // namespace reelforge::dataset
