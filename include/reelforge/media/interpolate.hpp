#pragma once
// Frame-rate conversion for generated clips. Video models produce frames at their native rate
// (Wan: 16 fps); the output preset wants 24, 25 or 30. Repeating frames stutters and plain
// cross-blending leaves double images of anything that moves, so in-between frames are made by
// motion-compensated interpolation along dense optical flow (OpenCV's DIS), with per-pixel and
// whole-frame fallbacks to a blend where the flow cannot be trusted.
//
// Limits: DIS searches coarse to fine, so motion larger than the moving thing itself (a small
// object jumping more than its own size between frames, at small frame sizes especially) is
// often not found; such pixels come out close to the blend. Per-pixel blending is the fallback
// for occlusions too, so uncovered background may show a faint double image.

#include <cstdint>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <string_view>
#include <vector>

namespace reelforge::media {

enum class InterpolationMethod {
  MotionCompensated,  // warp both neighbours along optical flow and blend the warps
  Blend,              // linear cross-blend of the two neighbours
  Nearest,            // the nearer neighbour (frames repeated or dropped)
};

// "flow", "blend", "nearest".
const char* to_string(InterpolationMethod method);
// "flow" | "motion", "blend", "nearest"; Error(InvalidArgument) listing the valid names otherwise.
InterpolationMethod parse_interpolation_method(std::string_view text);

// DIS optical flow presets: Medium is ~4x slower than Fast and clearly better on large motion
// (832x480 on 2 cores: ~120 ms against ~25 ms per flow field; two per frame pair).
enum class FlowPreset { Fast, Medium };

// How a FrameInterpolator handled the frame pairs it was given (for logs and tests).
struct InterpolationStats {
  int64_t flow_pairs = 0;      // pairs interpolated along optical flow
  int64_t fallback_pairs = 0;  // MotionCompensated pairs made as a plain blend instead: frames
                               // too small for DIS, DIS failed, or the flow explained the second
                               // frame no better than the first frame itself does
};

// Makes the frame at a fraction t between two frames. For MotionCompensated the optical flow of
// a pair is computed once and reused for every t asked of the same pair (the retimer asks for
// several), keyed on the pixels, so callers may pass fresh cv::Mat headers each time.
// Frames are CV_8UC3 of one size. Not thread-safe: one interpolator per thread.
class FrameInterpolator {
 public:
  explicit FrameInterpolator(InterpolationMethod method, FlowPreset preset = FlowPreset::Medium);
  ~FrameInterpolator();
  FrameInterpolator(FrameInterpolator&&) noexcept;
  FrameInterpolator& operator=(FrameInterpolator&&) noexcept;

  // The frame at fraction `t` of the way from `a` to `b`: t = 0 gives a copy of `a` and t = 1 a
  // copy of `b`, exactly. Nearest switches to `b` at t >= 0.5. Error(InvalidArgument) for t
  // outside [0, 1], empty frames, frames that are not CV_8UC3 or not of one size.
  cv::Mat between(const cv::Mat& a, const cv::Mat& b, double t);

  InterpolationMethod method() const;
  const InterpolationStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Output frame j of a retimed clip shows source position p = j * src_fps / dst_fps: the source
// frame itself where p is an integer (within 1e-6), else between(frame[floor p],
// frame[floor p + 1], p - floor p); positions past the last source frame repeat it.
//
// Streaming form: push source frames in order and collect the output frames that each push makes
// computable; finish() emits the rest (the clamped tail). Holds only two source frames.
class Retimer {
 public:
  // Error(InvalidArgument) for non-positive or non-finite fps or a negative count.
  Retimer(double src_fps, double dst_fps, int64_t dst_frame_count, InterpolationMethod method,
          FlowPreset preset = FlowPreset::Medium);

  // Error(InvalidArgument) for an empty frame, a frame that is not CV_8UC3 or differs in size
  // from the first, or a push after finish().
  std::vector<cv::Mat> push(const cv::Mat& frame);
  // The remaining output frames. Error(InvalidArgument) when no frame was pushed and output
  // frames are due.
  std::vector<cv::Mat> finish();

  int64_t frames_pushed() const { return pushed_; }
  int64_t frames_emitted() const { return next_; }
  const InterpolationStats& stats() const { return interpolator_.stats(); }

 private:
  double position(int64_t j) const;

  double src_fps_;
  double dst_fps_;
  int64_t count_;
  FrameInterpolator interpolator_;
  cv::Mat previous_;
  cv::Mat current_;
  int64_t pushed_ = 0;
  int64_t next_ = 0;  // the next output frame to emit
  bool finished_ = false;
};

// The whole clip at once (see Retimer): exactly `dst_frame_count` frames, which the caller
// computes from the duration it wants. Error(InvalidArgument) for no frames, non-positive fps,
// a negative count, or frames differing in size or type.
std::vector<cv::Mat> retime(const std::vector<cv::Mat>& frames, double src_fps, double dst_fps,
                            int64_t dst_frame_count, InterpolationMethod method,
                            FlowPreset preset = FlowPreset::Medium);

}  // namespace reelforge::media
