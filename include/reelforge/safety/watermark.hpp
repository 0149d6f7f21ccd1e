#pragma once
// An invisible watermark in the luma of every frame, so a generated clip stays recognisable as
// generated after the usual treatment of video on the way to a viewer: re-encoding, downscaling,
// cropping and cutting.
//
// How: each frame's luma is mapped to a fixed working grid (kGridWidth x kGridHeight, whatever the
// frame size, so 1080p and 720p share one layout) cut into 8x8 blocks. Twelve mid-frequency DCT
// coefficients of every block carry +-amplitude times a keyed pseudo-random chip: a quarter of
// them a known pilot (for detection and alignment), the rest the coded payload, each coded bit
// spread over ~120 coefficients scattered across the whole frame. The payload (install id +
// generation id, 64 bits) gets a CRC-16 and a rate-1/2 convolutional code (K = 7) decoded with
// soft-decision Viterbi. The mark is the same in every frame, so the detector averages the
// working-grid luma of all frames it is given (soft evidence grows with the clip) and then searches
// the zoom of a centred crop. The mark is added to R, G and B alike, which changes luma only.
//
// Limits: translation is not searched (an off-centre crop or a shifted frame is not recovered),
// nor rotation or a change of aspect ratio.

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string_view>

namespace reelforge::safety {

constexpr int kWatermarkGridWidth = 512;
constexpr int kWatermarkGridHeight = 288;
// Default coefficient amplitude: ~42 dB PSNR on 1080p frames (see tests/safety).
constexpr double kWatermarkDefaultAmplitude = 4.0;
// Pilot correlation, in standard deviations of its distribution on unmarked video, above which
// (together with a valid CRC) a watermark is reported.
constexpr double kWatermarkDetectionThreshold = 6.0;

struct WatermarkPayload {
  uint32_t install_id = 0;
  uint32_t generation_id = 0;
  bool operator==(const WatermarkPayload& o) const {
    return install_id == o.install_id && generation_id == o.generation_id;
  }
  bool operator!=(const WatermarkPayload& o) const { return !(*this == o); }
};

// The smallest frame that can carry the mark: 64 bits spread robustly need some pixels.
inline constexpr int kWatermarkMinWidth = 64;
inline constexpr int kWatermarkMinHeight = 36;

// Marks frames. Cheap per frame: the pattern depends only on key, payload and frame size, so it
// is computed once and added to every frame.
class WatermarkEmbedder {
 public:
  // `key` selects the pseudo-random layout; the detector needs the same key.
  explicit WatermarkEmbedder(std::string_view key, double amplitude = kWatermarkDefaultAmplitude);
  // Marks a CV_8UC3 RGB frame in place (any size >= 64x36). Error(InvalidArgument) otherwise.
  void embed(cv::Mat& rgb_frame, const WatermarkPayload& payload);

 private:
  uint64_t seed_;
  double amplitude_;
  // The last pattern made for a frame size and payload: the positive and negative parts of the
  // per-pixel offset (CV_8UC3 each).
  cv::Size cached_size_;
  WatermarkPayload cached_payload_;
  cv::Mat cached_positive_;
  cv::Mat cached_negative_;
};

struct WatermarkResult {
  bool found = false;
  // Pilot correlation in standard deviations (about N(0,1) on unmarked video); compare it with
  // kWatermarkDetectionThreshold.
  double confidence = 0.0;
  WatermarkPayload payload;  // meaningful when found
  // Fraction of coded bits wrong before error correction (hard decisions against the re-encoded
  // decoded payload); meaningful when found.
  double bit_error_rate = 0.0;
  double zoom = 1.0;   // the centred-crop zoom at which the mark was aligned (1 = none)
  int64_t frames = 0;  // frames the evidence came from
};

// Reads a watermark from frames of one clip, in any order and any number.
class WatermarkDetector {
 public:
  explicit WatermarkDetector(std::string_view key);
  // Adds one CV_8UC3 RGB frame's evidence. Error(InvalidArgument) for another type or a frame
  // smaller than 64x36.
  void add_frame(const cv::Mat& rgb_frame);
  int64_t frames() const { return frames_; }
  // Aligns, decodes and judges the evidence so far (not found when no frame was added).
  WatermarkResult result() const;

 private:
  uint64_t seed_;
  cv::Mat sum_;  // CV_64FC1 working grid: the sum of every frame's luma
  int64_t frames_ = 0;
};

}  // namespace reelforge::safety
