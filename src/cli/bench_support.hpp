#pragma once
// Small measuring helpers shared by the `reelforge bench` subcommands.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace reelforge::cli {

using BenchClock = std::chrono::steady_clock;

double seconds_since(BenchClock::time_point start);

// A field of /proc/self/status in bytes ("VmHWM" = peak RSS, "VmRSS"); 0 if unavailable.
int64_t proc_status_bytes(const std::string& field);

// Resets VmHWM to the current RSS (Linux >= 4.0: "5" > /proc/self/clear_refs), so one process can
// measure the peak of each phase. Returns whether the reset took effect.
bool reset_peak_rss();

// "WIDTHxHEIGHT" as given to --size; Error(InvalidArgument) naming the option otherwise.
std::pair<int64_t, int64_t> parse_size_option(const std::string& text);

}  // namespace reelforge::cli
