#pragma once
// `reelforge bench safety`: the watermark's cost per 1080p frame and the time to verify a clip.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_safety(Args& args);
extern const char* const kBenchSafetyUsage;

}  // namespace reelforge::cli
