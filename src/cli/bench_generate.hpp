#pragma once
// `reelforge bench generate`: a clip rendered end to end, seconds per stage.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_generate(Args& args);
extern const char* const kBenchGenerateUsage;

}  // namespace reelforge::cli
