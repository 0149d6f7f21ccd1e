#pragma once
// Still images: loading (any format OpenCV reads, EXIF orientation honoured) and reframing to a
// target size. Frames throughout ReelForge are cv::Mat of type CV_8UC3 in RGB channel order.

#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

#include "reelforge/media/presets.hpp"

namespace reelforge::media {

enum class Fit {
  Letterbox,  // the whole image, padded with black bars (letterbox or pillarbox)
  Fill,       // the frame filled, the overflow cropped evenly from both sides (centre crop)
};

// Loads an image as RGB (CV_8UC3), upright per its EXIF orientation.
// Error(NotFound) for a missing file, Error(Format) for a file that is not a readable image.
cv::Mat load_image(const std::filesystem::path& path);

// True when the file's extension is one of the still-image formats load_image reads.
bool looks_like_image(const std::filesystem::path& path);

// Resizes `rgb` into exactly `size` with `fit`: area resampling when shrinking, Lanczos when
// enlarging. Error(InvalidArgument) for an empty image or a non-positive size.
cv::Mat reframe(const cv::Mat& rgb, FrameSize size, Fit fit);

// The geometry reframe uses: `source_rect` of the image is resized into `target_rect` of the
// frame (Fill: a centred crop into the whole frame; Letterbox: the whole image into a centred
// rectangle, black bars around it). Shared so that code reframing into its own buffers (the
// upscaler) places pixels exactly as reframe does. Sizes must be positive.
struct ReframeLayout {
  cv::Rect source_rect;
  cv::Rect target_rect;
};
ReframeLayout reframe_layout(cv::Size source, FrameSize size, Fit fit);

}  // namespace reelforge::media
