#include "reelforge/media/upscale.hpp"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::media {

Upscaler::Upscaler(FrameSize size, const UpscaleOptions& options) : size_(size), options_(options) {
  if (size.width_px <= 0 || size.height_px <= 0) {
    throw Error(ErrorCategory::InvalidArgument, "upscale size " + std::to_string(size.width_px) +
                                                    "x" + std::to_string(size.height_px) +
                                                    " is not positive");
  }
  if (!std::isfinite(options.sharpen_amount) || options.sharpen_amount < 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "sharpen amount " + std::to_string(options.sharpen_amount) +
                    " is invalid; valid: 0 (off) or more (0.35 is mild)");
  }
  if (options.sharpen_amount > 0 &&
      !(std::isfinite(options.sharpen_sigma_px) && options.sharpen_sigma_px > 0)) {
    throw Error(ErrorCategory::InvalidArgument, "sharpen sigma " +
                                                    std::to_string(options.sharpen_sigma_px) +
                                                    " px must be positive (1.0 is typical)");
  }
}

void Upscaler::run(const cv::Mat& rgb, cv::Mat& out) {
  if (rgb.empty()) throw Error(ErrorCategory::InvalidArgument, "cannot upscale an empty frame");
  if (rgb.type() != CV_8UC3) {
    throw Error(ErrorCategory::InvalidArgument, "cannot upscale a frame of type " +
                                                    cv::typeToString(rgb.type()) +
                                                    "; expected CV_8UC3 (8-bit RGB)");
  }
  const ReframeLayout layout = reframe_layout(rgb.size(), size_, options_.fit);
  const cv::Mat source = rgb(layout.source_rect);
  const cv::Size target = layout.target_rect.size();

  // `out` may share pixels with `rgb` (the caller reusing one buffer); work from a copy then.
  cv::Mat own_source;
  const bool aliased = !out.empty() && out.datastart == rgb.datastart;
  if (aliased) own_source = source.clone();
  const cv::Mat& src = aliased ? own_source : source;

  out.create(size_.height_px, size_.width_px, CV_8UC3);
  const bool full_frame = layout.target_rect == cv::Rect(0, 0, size_.width_px, size_.height_px);
  if (!full_frame) out.setTo(cv::Scalar::all(0));  // letterbox bars
  cv::Mat picture = out(layout.target_rect);

  if (src.size() == target) {
    src.copyTo(picture);
    return;
  }
  // As reframe: area averaging unless enlarging; sharpening only what Lanczos enlarged.
  if (target.width <= src.cols && target.height <= src.rows) {
    cv::resize(src, picture, target, 0, 0, cv::INTER_AREA);
    return;
  }
  if (options_.sharpen_amount == 0) {
    cv::resize(src, picture, target, 0, 0, cv::INTER_LANCZOS4);
    return;
  }
  cv::resize(src, enlarged_, target, 0, 0, cv::INTER_LANCZOS4);
  // Blurred in its own buffer, so letterbox bars never darken (and halo) the picture's edges.
  cv::GaussianBlur(enlarged_, blurred_, cv::Size(0, 0), options_.sharpen_sigma_px,
                   options_.sharpen_sigma_px, cv::BORDER_REFLECT_101);
  // up + a * (up - blur) = (1 + a) * up - a * blur, rounded and saturated to 8 bit.
  cv::addWeighted(enlarged_, 1.0 + options_.sharpen_amount, blurred_, -options_.sharpen_amount, 0.0,
                  picture);
}

cv::Mat Upscaler::operator()(const cv::Mat& rgb) {
  cv::Mat out;
  run(rgb, out);
  return out;
}

cv::Mat upscale(const cv::Mat& rgb, FrameSize size, const UpscaleOptions& options) {
  return Upscaler(size, options)(rgb);
}

}  // namespace reelforge::media
