#include "reelforge/media/synthetic.hpp"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "reelforge/core/error.hpp"

namespace reelforge::media {

cv::Mat synthetic_frame(FrameSize size, int64_t index, const SyntheticOptions& options) {
  if (size.width_px <= 0 || size.height_px <= 0) {
    throw Error(ErrorCategory::InvalidArgument, "synthetic frame size must be positive");
  }
  const int w = size.width_px, h = size.height_px;
  const double t = double(index);
  // A slowly drifting diagonal colour gradient: smooth areas, as in skies and walls.
  cv::Mat frame(h, w, CV_8UC3);
  const double phase = t * 0.04;
  // Per-column and per-row terms, so a 1080p frame costs no trigonometry per pixel.
  std::vector<double> red(static_cast<size_t>(w)), cos_x(red.size()), sin_x(red.size());
  for (int x = 0; x < w; ++x) {
    const double fx = double(x) / w;
    red[size_t(x)] = 40 + 150 * (0.5 + 0.5 * std::sin(3.0 * fx + phase));
    cos_x[size_t(x)] = std::cos(2.0 * fx - phase);
    sin_x[size_t(x)] = std::sin(2.0 * fx - phase);
  }
  for (int y = 0; y < h; ++y) {
    auto* row = frame.ptr<cv::Vec3b>(y);
    const double fy = double(y) / h;
    const uchar green = cv::saturate_cast<uchar>(30 + 160 * fy);
    const double cy = std::cos(2.0 * fy), sy = std::sin(2.0 * fy);
    for (int x = 0; x < w; ++x) {
      // cos(2(fx + fy) - phase) by the angle-sum identity.
      const double c = cos_x[size_t(x)] * cy - sin_x[size_t(x)] * sy;
      row[x] = cv::Vec3b(cv::saturate_cast<uchar>(red[size_t(x)]), green,
                         cv::saturate_cast<uchar>(60 + 120 * (0.5 + 0.5 * c)));
    }
  }
  // Moving shapes with hard edges and texture: motion the encoder has to find.
  const double unit = std::min(w, h) / 10.0;
  for (int k = 0; k < 5; ++k) {
    const double speed = 0.6 + 0.25 * k;
    const cv::Point centre(int(w * (0.5 + 0.4 * std::sin(0.05 * speed * t + k * 1.3))),
                           int(h * (0.5 + 0.4 * std::cos(0.04 * speed * t + k * 2.1))));
    const cv::Scalar colour(50 * k % 255, 255 - 40 * k, 80 + 30 * k);
    if (k % 2 == 0) {
      cv::circle(frame, centre, int(unit * (0.6 + 0.2 * k)), colour, cv::FILLED, cv::LINE_AA);
    } else {
      const cv::RotatedRect box(centre, cv::Size2f(float(unit * 1.6), float(unit * 0.9)),
                                float(t * 2.0 * speed));
      cv::Point2f corners[4];
      box.points(corners);
      std::vector<cv::Point> poly(corners, corners + 4);
      cv::fillConvexPoly(frame, poly, colour, cv::LINE_AA);
    }
  }
  // A stripe pattern scrolling across: fine detail.
  for (int x = int(std::fmod(t * 6.0, 40.0)); x < w; x += 40) {
    cv::line(frame, {x, h - int(unit)}, {x + int(unit / 2), h - 1}, cv::Scalar(230, 230, 230), 2,
             cv::LINE_AA);
  }
  if (options.noise_sigma > 0) {
    cv::Mat noise(h, w, CV_16SC3);
    cv::RNG rng(options.seed * 1000003ULL + uint64_t(index));
    rng.fill(noise, cv::RNG::NORMAL, 0.0, options.noise_sigma);
    cv::Mat noisy;
    cv::add(frame, noise, noisy, cv::noArray(), CV_8UC3);
    return noisy;
  }
  return frame;
}

}  // namespace reelforge::media
