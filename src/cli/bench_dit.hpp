#pragma once
// `reelforge bench dit`: times one conditional forward of a Wan DiT at its real size (random
// weights or a checkpoint) and reports speed against this machine's matmul peak and peak memory.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_dit(Args& args);
extern const char* const kBenchDiTUsage;

}  // namespace reelforge::cli
