#pragma once
// `reelforge bench umt5`: speed and memory of the umT5 text encoder (random or real weights).
// Wired into `reelforge bench` by cmd_bench.cpp's kBenchmarks table.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_umt5(Args& args);
extern const char* const kBenchUMT5Usage;

}  // namespace reelforge::cli
