// Replays every saved fuzzer input (crashers found by fuzz_safetensors and the seed corpus) through
// the fuzz target itself, built here with the ordinary compiler: an input that once crashed must
// now be rejected with reelforge::Error or load cleanly, never abort.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "support/testing.hpp"

// The fuzz target's LLVMFuzzerTestOneInput, so both run exactly the same checks.
#include "../../fuzz/fuzz_safetensors.cpp"  // NOLINT(bugprone-suspicious-include)

TEST(FuzzRegressions, EverySavedSafetensorsInputIsHandled) {
  const std::filesystem::path dir = reelforge::testing::test_data("fuzz/safetensors");
  std::vector<std::filesystem::path> inputs;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    if (item.is_regular_file()) inputs.push_back(item.path());
  }
  std::sort(inputs.begin(), inputs.end());
  ASSERT_FALSE(inputs.empty()) << "no saved inputs in " << dir
                               << ": the replay would check nothing";
  for (const auto& path : inputs) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              0);
  }
}
