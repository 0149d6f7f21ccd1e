#pragma once
// `reelforge bench train`: seconds per training step of the built-in recipe's stages, in bf16 and
// float32, through the real trainer on a scratch run folder.

#include "args.hpp"

namespace reelforge::cli {

int run_bench_train(Args& args);
extern const char* const kBenchTrainUsage;

}  // namespace reelforge::cli
