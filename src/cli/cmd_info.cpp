#include <cstdio>

#include "commands.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/version.hpp"

namespace reelforge::cli {

const char* const kInfoUsage = R"(Usage: reelforge info

Prints the ReelForge and LibTorch versions, the CPU, the chosen device, compute dtype and thread
count, and the folders ReelForge reads (resources, user data, test fixtures).)";

int run_info(Args& args) {
  args.finish();
  std::printf("reelforge: %s\n%s", kVersion, describe(compute_info()).c_str());
  std::printf("resources: %s\n", resource_root().c_str());
  std::printf("user data: %s\n", user_data_dir().c_str());
  const auto fixtures = fixtures_dir();
  std::printf("fixtures: %s\n", fixtures ? fixtures->c_str() : "(none)");
  return 0;
}

}  // namespace reelforge::cli
