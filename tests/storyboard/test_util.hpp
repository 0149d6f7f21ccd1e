#pragma once
// Helpers shared by the storyboard tests: a valid document to break one rule at a time, and
// assertions that name the issue list when they fail.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reelforge/storyboard/io.hpp"

namespace reelforge::storyboard::test {

// Two shots, the second crossfading in; no media, so it checks without touching the disk.
inline nlohmann::json valid_doc() {
  return nlohmann::json::parse(R"({
    "format": "reelforge.storyboard",
    "version": 1,
    "title": "Harbour",
    "project": {"aspect": "16:9", "resolution": "720p", "fps": 24, "model": "builtin",
                "quality": "draft", "seed": 1234},
    "shots": [
      {"id": "dawn", "prompt": "boats at dawn", "negative_prompt": "blurry", "duration_s": 5,
       "transition": {"kind": "cut"}},
      {"id": "noon", "prompt": "a busy quay at noon", "duration_s": 4.5,
       "transition": {"kind": "crossfade", "duration_s": 0.5}}
    ]
  })");
}

inline LoadOptions no_media() {
  LoadOptions options;
  options.validation.media = MediaChecks::None;
  return options;
}

inline std::vector<Issue> issues_of(const nlohmann::json& doc, LoadOptions options = no_media()) {
  return check_text(doc.dump(), "/nonexistent", options).issues;
}

inline std::string describe(const std::vector<Issue>& issues) {
  std::string s;
  for (const Issue& i : issues) s += "\n  " + to_string(i);
  return s.empty() ? " (none)" : s;
}

// The issue at exactly `path` whose message contains `fragment`.
inline ::testing::AssertionResult has_issue(const std::vector<Issue>& issues,
                                            const std::string& path, const std::string& fragment) {
  for (const Issue& i : issues) {
    if (i.path == path && i.message.find(fragment) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no issue at \"" << path << "\" containing \"" << fragment
                                       << "\"; issues:" << describe(issues);
}

// Exactly one issue, at `path`, containing `fragment`: a broken rule is reported once, not echoed.
inline ::testing::AssertionResult only_issue(const std::vector<Issue>& issues,
                                             const std::string& path, const std::string& fragment) {
  if (issues.size() != 1) {
    return ::testing::AssertionFailure() << "expected exactly one issue; got" << describe(issues);
  }
  return has_issue(issues, path, fragment);
}

}  // namespace reelforge::storyboard::test
