#include "reelforge/media/frame_rate.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "reelforge/core/error.hpp"

namespace reelforge::media {

FrameRate FrameRate::from_double(double fps) {
  if (!std::isfinite(fps) || fps <= 0 || fps > 10000) {
    throw Error(ErrorCategory::InvalidArgument,
                "frame rate " + std::to_string(fps) + " is not a positive number up to 10000");
  }
  const double whole = std::round(fps);
  if (std::abs(fps - whole) < 1e-3) return {int(whole), 1};
  // NTSC rates (23.976, 29.97, 59.94) are n*1000/1001, usually written with 2 or 3 decimals.
  const double ntsc = std::round(fps * 1.001);
  if (std::abs(fps - ntsc / 1.001) < 0.006) return {int(ntsc) * 1000, 1001};
  int num = int(std::lround(fps * 1000));
  int den = 1000;
  const int g = std::gcd(num, den);
  return {num / g, den / g};
}

FrameRate FrameRate::parse(const std::string& text) {
  auto bad = [&] {
    return Error(
        ErrorCategory::InvalidArgument,
        "frame rate '" + text + "' is not a number (24, 23.976) or a fraction (24000/1001)");
  };
  const auto sep = text.find_first_of("/:");
  if (sep == std::string::npos) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0) throw bad();
    return from_double(v);
  }
  const std::string a = text.substr(0, sep), b = text.substr(sep + 1);
  char* end_a = nullptr;
  char* end_b = nullptr;
  const long num = std::strtol(a.c_str(), &end_a, 10);
  const long den = std::strtol(b.c_str(), &end_b, 10);
  if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0' || num <= 0 || den <= 0 ||
      num > 10000000 || den > 10000000) {
    throw bad();
  }
  const long g = std::gcd(num, den);
  return {int(num / g), int(den / g)};
}

std::string FrameRate::to_string() const {
  return den == 1 ? std::to_string(num) : std::to_string(num) + "/" + std::to_string(den);
}

}  // namespace reelforge::media
