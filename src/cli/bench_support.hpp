#pragma once
// Small measuring helpers shared by the `reelforge bench` subcommands.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "reelforge/tensors/checkpoint.hpp"

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

// This machine's practical matmul rate in `dtype` (best of 3 square 3072^2 at::mm), GFLOP/s:
// R32 / R16 in the benchmarks, measured in the same run as what they are compared with.
double matmul_rate_gflops(c10::ScalarType dtype, const c10::Device& device);

// The same for a 3x3x3 conv3d of 192 channels on 6x48x80 frames (a Wan VAE decoder stage).
double conv3d_rate_gflops(c10::ScalarType dtype, const c10::Device& device);

// A model's parameters (named_parameters()) widened to float32, as an in-memory checkpoint: the
// float32 reference twin of a bf16 model for --compare-float32.
tensors::Checkpoint float32_checkpoint(
    const std::vector<std::pair<std::string, at::Tensor>>& parameters);

}  // namespace reelforge::cli
