#pragma once
// The core's frames (cv::Mat, 8-bit RGB) as Qt images.

#include <QImage>
#include <opencv2/core/mat.hpp>

// A deep copy of an 8-bit RGB frame (the core reuses its buffers); a null image for an empty or
// non-CV_8UC3 frame.
QImage imageFromRgb(const cv::Mat& rgb);
