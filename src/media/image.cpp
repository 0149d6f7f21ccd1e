#include "reelforge/media/image.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;

namespace reelforge::media {

cv::Mat load_image(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCategory::NotFound, "no such file", path.string());
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorCategory::InvalidArgument, "is a folder, not an image", path.string());
  }
  // IMREAD_COLOR applies the EXIF orientation (OpenCV 4.x), so phone photos come out upright.
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) {
    throw Error(ErrorCategory::Format, "not an image OpenCV can read (or it is damaged)",
                path.string());
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

bool looks_like_image(const fs::path& path) {
  static const std::array<const char*, 10> kExtensions = {".png", ".jpg",  ".jpeg", ".bmp", ".webp",
                                                          ".tif", ".tiff", ".ppm",  ".pgm", ".jpe"};
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

namespace {

// Area averaging when shrinking (no aliasing), Lanczos when enlarging (sharpest of OpenCV's).
void resize_to(const cv::Mat& src, cv::Mat& dst, cv::Size size) {
  if (src.size() == size) {
    src.copyTo(dst);
    return;
  }
  const bool shrinking = size.width <= src.cols && size.height <= src.rows;
  cv::resize(src, dst, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LANCZOS4);
}

}  // namespace

ReframeLayout reframe_layout(cv::Size source, FrameSize size, Fit fit) {
  RF_CHECK(source.width > 0 && source.height > 0 && size.width_px > 0 && size.height_px > 0,
           "reframe_layout needs positive sizes");
  const double sx = double(size.width_px) / source.width;
  const double sy = double(size.height_px) / source.height;
  ReframeLayout layout;
  if (fit == Fit::Letterbox) {
    const double s = std::min(sx, sy);
    // The side that limits the scale fills the frame exactly; the other gets even bars.
    const int w =
        sx <= sy ? size.width_px : std::clamp(int(std::lround(source.width * s)), 1, size.width_px);
    const int h = sy <= sx ? size.height_px
                           : std::clamp(int(std::lround(source.height * s)), 1, size.height_px);
    layout.source_rect = cv::Rect(0, 0, source.width, source.height);
    layout.target_rect = cv::Rect((size.width_px - w) / 2, (size.height_px - h) / 2, w, h);
  } else {
    const double s = std::max(sx, sy);
    // Crop the source to the target's aspect first (centred), then scale: cheaper and exact.
    const int cw =
        sx >= sy ? source.width : std::clamp(int(std::lround(size.width_px / s)), 1, source.width);
    const int ch = sy >= sx ? source.height
                            : std::clamp(int(std::lround(size.height_px / s)), 1, source.height);
    layout.source_rect = cv::Rect((source.width - cw) / 2, (source.height - ch) / 2, cw, ch);
    layout.target_rect = cv::Rect(0, 0, size.width_px, size.height_px);
  }
  return layout;
}

cv::Mat reframe(const cv::Mat& rgb, FrameSize size, Fit fit) {
  if (rgb.empty()) throw Error(ErrorCategory::InvalidArgument, "cannot reframe an empty image");
  if (rgb.type() != CV_8UC3) {
    throw Error(ErrorCategory::InvalidArgument, "cannot reframe an image of type " +
                                                    cv::typeToString(rgb.type()) +
                                                    "; expected CV_8UC3 (8-bit RGB)");
  }
  if (size.width_px <= 0 || size.height_px <= 0) {
    throw Error(ErrorCategory::InvalidArgument, "target size " + std::to_string(size.width_px) +
                                                    "x" + std::to_string(size.height_px) +
                                                    " is not positive");
  }
  const ReframeLayout layout = reframe_layout(rgb.size(), size, fit);
  const cv::Mat source = rgb(layout.source_rect);
  if (layout.target_rect.size() == cv::Size(size.width_px, size.height_px)) {
    cv::Mat out;
    resize_to(source, out, layout.target_rect.size());
    return out;
  }
  cv::Mat out(size.height_px, size.width_px, CV_8UC3, cv::Scalar::all(0));
  cv::Mat scaled;
  resize_to(source, scaled, layout.target_rect.size());
  scaled.copyTo(out(layout.target_rect));
  return out;
}

}  // namespace reelforge::media
