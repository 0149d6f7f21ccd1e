#pragma once
// A frame rate as an exact fraction. Video timestamps are integers in a time base, so rates such
// as NTSC's 23.976 (24000/1001) must stay fractions: as a double, frame 1000's time would drift.

#include <string>

namespace reelforge::media {

struct FrameRate {
  int num = 24;  // frames ...
  int den = 1;   // ... per this many seconds

  double value() const { return double(num) / double(den); }
  bool operator==(const FrameRate& o) const {
    return static_cast<long long>(num) * o.den == static_cast<long long>(o.num) * den;
  }
  bool operator!=(const FrameRate& o) const { return !(*this == o); }

  // 24 -> 24/1, 23.976 or 23.98 -> 24000/1001, 12.5 -> 25/2. Error(InvalidArgument) unless finite
  // and positive.
  static FrameRate from_double(double fps);
  // "24", "23.976", "24000/1001", "30000:1001". Error(InvalidArgument) naming the text otherwise.
  static FrameRate parse(const std::string& text);
  // "24" or "24000/1001".
  std::string to_string() const;
};

}  // namespace reelforge::media
