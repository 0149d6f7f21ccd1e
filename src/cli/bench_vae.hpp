#pragma once
// `reelforge bench vae`: times decode and encode of a Wan VAE at its real size (random weights or
// a checkpoint) and reports the peak resident memory of each phase.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_vae(Args& args);
extern const char* const kBenchVAEUsage;

}  // namespace reelforge::cli
