// `reelforge`: the command-line front end. Parses global options, sets up logging and LibTorch,
// dispatches to a subcommand and turns a reelforge::Error into one line and an exit code.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/log.hpp"
#include "reelforge/version.hpp"

namespace reelforge::cli {
namespace {

constexpr const char* kGlobalHelp = R"(Global options (anywhere on the line):
  -v, --verbose        log milestones (info level)
  --log-level LEVEL    error | warn | info | debug (default: warn)
  --threads N          LibTorch threads (default: one per hardware thread)
  --device D           auto | cpu | cuda (default: auto = CUDA when available)
  --dtype T            auto | float32 | bf16 compute dtype (default: auto)
  -h, --help           help for a command: reelforge CMD --help
  --version            print the version
)";

void print_main_help() {
  std::printf("ReelForge %s - storyboard to video, locally.\n\nUsage: reelforge COMMAND [ARGS]\n\nCommands:\n",
              kVersion);
  for (const Command& c : all_commands()) std::printf("  %-14s %s\n", c.name, c.summary);
  std::printf("\n%s", kGlobalHelp);
}

void on_signal(int) {
  static volatile std::sig_atomic_t count = 0;
  if (++count > 1) std::_Exit(130);  // a second Ctrl-C stops at once
  interrupt_token().cancel();
  static const char msg[] = "\nstopping (Ctrl-C again to abort now)...\n";
  [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
}

}  // namespace

const CancellationToken& interrupt_token() {
  static const CancellationToken token;
  return token;
}

namespace {
ComputeDType g_requested_dtype = ComputeDType::Auto;
}  // namespace

ComputeDType requested_compute_dtype() { return g_requested_dtype; }

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {"generate", "generate a clip from a prompt (and an image or a clip)", kGenerateUsage,
       run_generate, true},
      {"render", "render a storyboard into a clip; resume a stopped render", kRenderUsage,
       run_render, true},
      {"info", "show versions, device, threads and paths", kInfoUsage, run_info},
      {"probe", "describe a video or image file", kProbeUsage, run_probe},
      {"convert", "reframe a video or still into a preset clip", kConvertUsage, run_convert},
      {"storyboard", "create, validate and show storyboard files", kStoryboardUsage, run_storyboard},
      {"models", "list installed models, inspect a model folder", kModelsUsage, run_models},
      {"verify", "check a clip's signed provenance manifest and its watermark", kVerifyUsage,
       run_verify},
      {"dataset", "write sample clips of the built-in model's training world", kDatasetUsage,
       run_dataset},
      {"train", "train the built-in model (resumable) and export it", kTrainUsage, run_train,
       true},
      {"eval", "score a model's clips of the held-out world, attribute by attribute", kEvalUsage,
       run_eval, true},
      {"check-fixture", "run a golden Wan fixture and compare with its outputs", kCheckFixtureUsage,
       run_check_fixture, true},
      {"bench", "measure performance (encode, generate, post, dit, umt5, vae, train, safety)", kBenchUsage, run_bench,
       true},
  };
  return commands;
}

int main_impl(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  if (tokens.empty() || tokens[0] == "-h" || tokens[0] == "--help" || tokens[0] == "help") {
    if (tokens.size() >= 2 && tokens[0] == "help") tokens = {tokens[1], "--help"};
    else {
      print_main_help();
      return tokens.empty() ? 2 : 0;
    }
  }
  if (tokens[0] == "--version") {
    std::printf("reelforge %s\n", kVersion);
    return 0;
  }

  // Global options are taken out wherever they stand; the rest goes to the command.
  std::vector<std::string> rest;
  LogLevel level = LogLevel::Warn;
  ComputeOptions compute;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    auto value = [&](const std::string& name) -> std::string {
      if (t.rfind(name + "=", 0) == 0) return t.substr(name.size() + 1);
      if (i + 1 >= tokens.size()) throw Error(ErrorCategory::InvalidArgument, name + " needs a value");
      return tokens[++i];
    };
    auto is = [&](const char* name) { return t == name || t.rfind(std::string(name) + "=", 0) == 0; };
    if (t == "-v" || t == "--verbose") level = LogLevel::Info;
    else if (is("--log-level")) level = parse_log_level(value("--log-level"));
    else if (is("--threads")) {
      const std::string v = value("--threads");
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 1024) {
        throw Error(ErrorCategory::InvalidArgument, "--threads expects 0..1024, got '" + v + "'");
      }
      compute.threads = int(n);
    } else if (is("--device")) compute.device = parse_device(value("--device"));
    else if (is("--dtype")) compute.dtype = parse_compute_dtype(value("--dtype"));
    else rest.push_back(t);
  }
  init_logging(level);

  const std::string name = rest.empty() ? "" : rest[0];
  const Command* command = nullptr;
  for (const Command& c : all_commands()) {
    if (name == c.name) command = &c;
  }
  if (command == nullptr) {
    throw Error(ErrorCategory::InvalidArgument,
                "unknown command '" + name + "'; see reelforge --help");
  }
  Args args(std::vector<std::string>(rest.begin() + 1, rest.end()));
  if (args.flag("--help", "-h")) {
    std::printf("%s\n%s", command->usage, kGlobalHelp);
    return 0;
  }
  if (command->runs_models) reexec_with_openmp_environment(argv);
  g_requested_dtype = compute.dtype;
  init_compute(compute);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return command->run(args);
}

}  // namespace reelforge::cli

int main(int argc, char** argv) {
  using namespace reelforge;
  try {
    return cli::main_impl(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "reelforge: %s: %s\n", to_string(e.category()), e.what());
    return exit_code_for(e.category());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reelforge: internal error: %s\n", e.what());
    return exit_code_for(ErrorCategory::Internal);
  }
}
