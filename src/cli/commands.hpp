#pragma once
// The `reelforge` subcommands. Each lives in its own cmd_<area>.cpp, parses its arguments, calls
// the core library and prints; no media or model logic lives in the CLI.

#include <string>
#include <vector>

#include "args.hpp"
#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"

namespace reelforge::cli {

struct Command {
  const char* name;
  const char* summary;  // one line for `reelforge --help`
  const char* usage;    // full text for `reelforge CMD --help`
  int (*run)(Args& args);
  bool runs_models = false;  // gets the OpenMP environment for model runs (core/compute.hpp)
};

const std::vector<Command>& all_commands();

// Fired by Ctrl-C (SIGINT/SIGTERM); long commands pass it to the core.
const CancellationToken& interrupt_token();

// The global --dtype as given (Auto unless the user chose one): commands with a dtype of their
// own, such as a training recipe, keep theirs unless the user chose explicitly.
ComputeDType requested_compute_dtype();

int run_generate(Args& args);
int run_render(Args& args);
int run_dataset(Args& args);
int run_train(Args& args);
int run_eval(Args& args);
int run_info(Args& args);
int run_probe(Args& args);
int run_convert(Args& args);
int run_storyboard(Args& args);
int run_bench(Args& args);
int run_check_fixture(Args& args);
int run_models(Args& args);
int run_verify(Args& args);

extern const char* const kGenerateUsage;
extern const char* const kRenderUsage;
extern const char* const kDatasetUsage;
extern const char* const kTrainUsage;
extern const char* const kEvalUsage;
extern const char* const kInfoUsage;
extern const char* const kProbeUsage;
extern const char* const kConvertUsage;
extern const char* const kStoryboardUsage;
extern const char* const kBenchUsage;
extern const char* const kCheckFixtureUsage;
extern const char* const kModelsUsage;
extern const char* const kVerifyUsage;

}  // namespace reelforge::cli
