#include "reelforge/storyboard/migration.hpp"

#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/storyboard.hpp"

namespace reelforge::storyboard {
namespace {

// Renames `from` to `to` in an object, unless `to` is already there (then the parser reports the
// leftover `from` as an unknown field rather than the migration guessing which one is meant).
void rename_key(nlohmann::json& object, const char* from, const char* to) {
  if (!object.is_object()) return;
  auto it = object.find(from);
  if (it == object.end() || object.contains(to)) return;
  nlohmann::json value = std::move(*it);
  object.erase(it);
  object[to] = std::move(value);
}

// Version 0 was written by the pre-release builds (0.0.x): the project settings were under
// "settings", and a shot had "duration" and "negative" instead of "duration_s" and
// "negative_prompt". Anything else malformed is left for the parser to report with its path.
void migrate_v0_to_v1(nlohmann::json& doc) {
  rename_key(doc, "settings", "project");
  auto shots = doc.find("shots");
  if (shots == doc.end() || !shots->is_array()) return;
  for (nlohmann::json& shot : *shots) {
    rename_key(shot, "duration", "duration_s");
    rename_key(shot, "negative", "negative_prompt");
  }
}

}  // namespace

void MigrationRegistry::add(int from_version, std::string description, Step step) {
  if (!step) throw Error(ErrorCategory::InvalidArgument, "empty migration step");
  if (!steps_.emplace(from_version, Entry{std::move(description), std::move(step)}).second) {
    throw Error(
        ErrorCategory::InvalidArgument,
        "a migration from version " + std::to_string(from_version) + " is already registered");
  }
}

int MigrationRegistry::apply(nlohmann::json& document, int version, int target_version) const {
  int applied = 0;
  for (int v = version; v < target_version; ++v) {
    auto it = steps_.find(v);
    if (it == steps_.end()) {
      throw Error(ErrorCategory::Unsupported,
                  "format version " + std::to_string(v) +
                      " is too old for this build of ReelForge to upgrade (it reads versions " +
                      std::to_string(steps_.empty() ? target_version : steps_.begin()->first) +
                      " to " + std::to_string(target_version) + ")",
                  "/version");
    }
    try {
      it->second.step(document);
    } catch (const nlohmann::json::exception& e) {
      // A step written for well-formed old files met a malformed one: the file's fault, not ours.
      throw Error(ErrorCategory::Format, "cannot upgrade from version " + std::to_string(v) + " (" +
                                             it->second.description + "): " + e.what());
    }
    if (!document.is_object()) {
      throw Error(ErrorCategory::Internal, "the migration from version " + std::to_string(v) +
                                               " did not leave a JSON object");
    }
    document["version"] = v + 1;
    ++applied;
  }
  return applied;
}

const MigrationRegistry& MigrationRegistry::builtin() {
  static const MigrationRegistry registry = [] {
    MigrationRegistry r;
    r.add(0,
          "pre-release: settings -> project, duration -> duration_s, negative -> negative_prompt",
          migrate_v0_to_v1);
    return r;
  }();
  return registry;
}

}  // namespace reelforge::storyboard
