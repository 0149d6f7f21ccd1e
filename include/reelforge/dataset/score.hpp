#pragma once
// Reads the world's attributes back from frames, so that a clip the model generated can be scored
// against its prompt without a person looking at it. It knows the world's backgrounds and colours
// (world.hpp) and nothing else; every threshold is relative to the frame, so it works from 32x32
// up.

#include <vector>

#include <opencv2/core.hpp>

#include "reelforge/dataset/world.hpp"

namespace reelforge::dataset {

// What read_clip saw of the main (largest) object. The attribute fields are meaningful only when
// `found` is true.
struct ClipReading {
  Background background = Background::Gray;
  ObjectColor color = ObjectColor::Red;
  Shape shape = Shape::Circle;
  Size size = Size::Medium;
  Motion motion = Motion::Still;
  // Fraction of frames (0..1) where the object is one connected region of plausible size.
  double stability = 0;
  bool found = false;
};

// Background: the prototype (render_background) whose border pixels match best (median distance,
// so an object touching the edge does not matter). Object: pixels far from that prototype.
// Colour: nearest named colour to the median of the object's pixels farthest from the background.
// Shape: the world's own drawing (draw_shape_coverage) that best overlaps the region when placed
// in its enclosing circle, over rotations and a pixel of radius, summed over five frames -- more
// reliable at 32x32 than contour features; the region counts only its pixels on the way from the
// background towards the object's colour, so a decoder's dark or light fringe does not fill a
// star's notches. Size: median enclosing-circle radius against the short side. Motion: area
// trend (grow, shrink), direction reversals of the centroid over a wide enough track (bounce),
// net displacement (left/right/up/down), outline change in place (spin), else still.
// Error(InvalidArgument) for fewer than 2 frames or frames that are not equal-size CV_8UC3.
ClipReading read_clip(const std::vector<cv::Mat>& frames);

}  // namespace reelforge::dataset
