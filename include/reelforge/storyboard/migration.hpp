#pragma once
// Upgrading storyboards written by older builds. A migration rewrites the JSON of version N into
// version N+1 before it is parsed, so the parser only ever knows the current format and old files
// keep opening after the format changes.

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace reelforge::storyboard {

class MigrationRegistry {
 public:
  // Rewrites a document of version `from` in place into version `from` + 1. It may throw
  // Error(Format or Validation) for a document it cannot upgrade; "version" is set by apply().
  using Step = std::function<void(nlohmann::json& document)>;

  // Error(InvalidArgument) when a step from `from_version` is already registered.
  void add(int from_version, std::string description, Step step);
  bool has(int from_version) const { return steps_.count(from_version) != 0; }

  // Upgrades `document` (whose "version" is `version`) to `target_version`, one step at a time,
  // and returns the number of steps applied. Error(Unsupported) when a step is missing (a version
  // too old to open); a step's JSON type errors become Error(Format).
  int apply(nlohmann::json& document, int version, int target_version) const;

  // The migrations this build ships (today: the pre-release version 0 -> 1).
  static const MigrationRegistry& builtin();

 private:
  struct Entry {
    std::string description;
    Step step;
  };
  std::map<int, Entry> steps_;
};

}  // namespace reelforge::storyboard
