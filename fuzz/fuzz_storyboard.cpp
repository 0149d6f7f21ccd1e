// libFuzzer target for the storyboard reader: arbitrary bytes are parsed and validated as a
// storyboard. reelforge::Error is the only exception the reader may throw; anything else escaping
// (and any sanitizer report) is a bug. A document that reads without issues must also come back
// unchanged through save and read, and its canonical text must be a fixed point.
//
// Built two ways: with libFuzzer (fuzz/CMakeLists.txt, REELFORGE_FUZZ=ON, clang) and, with
// replay_main.cpp, as the normal test storyboard_fuzz_replay that runs every saved input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"

namespace {

[[noreturn]] void bug(const char* what, const std::string& detail) {
  std::fprintf(stderr, "storyboard fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace reelforge::storyboard;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadOptions options;
  // Media checks would make the fuzzer probe the filesystem; path strings are still checked.
  options.validation.media = MediaChecks::None;
  try {
    const CheckedStoryboard checked = check_text(text, "/fuzz", options);
    const Storyboard& sb = checked.storyboard;
    (void)sb.timeline();
    for (const Shot& shot : sb.shots) (void)sb.effective_seed(shot);
    try {
      throw_if_issues(checked.issues, "fuzz");
    } catch (const reelforge::Error&) {
    }
    if (checked.ok()) {
      const std::string canonical = to_json_text(sb);
      const CheckedStoryboard again = check_text(canonical, "/fuzz", options);
      if (!again.ok()) bug("the canonical text of a valid storyboard has issues", canonical);
      if (again.storyboard != sb) bug("the storyboard changed through save and read", canonical);
      if (to_json_text(again.storyboard) != canonical) bug("canonical text is unstable", canonical);
    }
  } catch (const reelforge::Error&) {
    // Malformed, not a storyboard, or a version this build cannot read: reported, not a bug.
  }
  return 0;
}
