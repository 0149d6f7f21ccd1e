#include "reelforge/media/transition.hpp"

#include <opencv2/core.hpp>
#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge::media {

namespace {

std::string describe(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " " + cv::typeToString(m.type());
}

}  // namespace

cv::Mat crossfade(const cv::Mat& from, const cv::Mat& to, double t) {
  if (from.empty() || to.empty()) {
    throw Error(ErrorCategory::InvalidArgument, "cannot crossfade an empty frame");
  }
  if (from.size() != to.size() || from.type() != to.type()) {
    throw Error(ErrorCategory::InvalidArgument, "cannot crossfade a " + describe(from) +
                                                    " frame into a " + describe(to) +
                                                    " frame; both must be the same");
  }
  if (!(t >= 0.0 && t <= 1.0)) {
    throw Error(ErrorCategory::InvalidArgument,
                "crossfade position " + std::to_string(t) + " is outside [0, 1]");
  }
  if (t == 0.0) return from.clone();
  if (t == 1.0) return to.clone();
  cv::Mat out;
  cv::addWeighted(from, 1.0 - t, to, t, 0.0, out);
  return out;
}

std::vector<cv::Mat> crossfade_frames(const std::vector<cv::Mat>& outgoing,
                                      const std::vector<cv::Mat>& incoming) {
  if (outgoing.size() != incoming.size()) {
    throw Error(ErrorCategory::InvalidArgument,
                "crossfade needs as many outgoing as incoming frames (got " +
                    std::to_string(outgoing.size()) + " and " + std::to_string(incoming.size()) +
                    ")");
  }
  const size_t n = outgoing.size();
  std::vector<cv::Mat> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(crossfade(outgoing[i], incoming[i], double(i + 1) / double(n + 1)));
  }
  return out;
}

std::vector<cv::Mat> join_with_crossfade(const std::vector<cv::Mat>& first,
                                         const std::vector<cv::Mat>& second, int overlap_frames) {
  if (overlap_frames < 0 || size_t(overlap_frames) > first.size() ||
      size_t(overlap_frames) > second.size()) {
    throw Error(ErrorCategory::InvalidArgument,
                "crossfade of " + std::to_string(overlap_frames) +
                    " frames does not fit shots of " + std::to_string(first.size()) + " and " +
                    std::to_string(second.size()) +
                    " frames; valid: 0 to the shorter shot's length");
  }
  const size_t k = size_t(overlap_frames);
  const size_t kept_first = first.size() - k;
  const std::vector<cv::Mat> tail(first.begin() + std::ptrdiff_t(kept_first), first.end());
  const std::vector<cv::Mat> head(second.begin(), second.begin() + std::ptrdiff_t(k));
  std::vector<cv::Mat> faded = crossfade_frames(tail, head);

  std::vector<cv::Mat> out;
  out.reserve(first.size() + second.size() - k);
  out.insert(out.end(), first.begin(), first.begin() + std::ptrdiff_t(kept_first));
  for (cv::Mat& f : faded) out.push_back(std::move(f));
  out.insert(out.end(), second.begin() + std::ptrdiff_t(k), second.end());
  return out;
}

}  // namespace reelforge::media
