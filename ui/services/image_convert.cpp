#include "services/image_convert.hpp"

QImage imageFromRgb(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) return {};
  return QImage(rgb.data, rgb.cols, rgb.rows, static_cast<qsizetype>(rgb.step),
                QImage::Format_RGB888)
      .copy();
}
