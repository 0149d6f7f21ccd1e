#pragma once
// Joining shots: linear crossfades between the end of one shot and the start of the next.

#include <opencv2/core/mat.hpp>
#include <vector>

namespace reelforge::media {

// (1 - t) * from + t * to, rounded: t = 0 gives a copy of `from`, t = 1 a copy of `to`.
// Error(InvalidArgument) for t outside [0, 1], empty frames, or frames of different size or type.
cv::Mat crossfade(const cv::Mat& from, const cv::Mat& to, double t);

// Fades `outgoing` (the last n frames of a shot) into `incoming` (the first n of the next), frame
// by frame: frame i of n is crossfade(outgoing[i], incoming[i], (i + 1) / (n + 1)). Neither end is
// a pure copy, so the cut into the fade and out of it stays smooth (n = 1 gives one 50 % frame).
// Error(InvalidArgument) when the lists differ in length or any pair differs in size or type.
std::vector<cv::Mat> crossfade_frames(const std::vector<cv::Mat>& outgoing,
                                      const std::vector<cv::Mat>& incoming);

// Two shots joined with `overlap_frames` of crossfade (the weights of crossfade_frames):
// first[0 .. n1 - k), the k faded frames, then second[k .. n2), n1 + n2 - k frames in all.
// Frames outside the fade share their pixels with the inputs (cv::Mat headers).
// overlap_frames 0 is a straight cut. Error(InvalidArgument) for an overlap that is negative or
// longer than either shot.
std::vector<cv::Mat> join_with_crossfade(const std::vector<cv::Mat>& first,
                                         const std::vector<cv::Mat>& second, int overlap_frames);

}  // namespace reelforge::media
