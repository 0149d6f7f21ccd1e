#pragma once
// Wall-clock timing for progress, ETAs and benchmarks: a monotonic clock, never the calendar.

#include <chrono>

namespace reelforge {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace reelforge
