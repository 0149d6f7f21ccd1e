#pragma once
// Reading and writing storyboard files. The text written is canonical (fixed key order, 2-space
// indent, trailing newline, numbers in their shortest exact form), so loading a saved file and
// saving it again gives the same bytes, and files diff well under version control.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "reelforge/storyboard/migration.hpp"
#include "reelforge/storyboard/storyboard.hpp"
#include "reelforge/storyboard/validation.hpp"

namespace reelforge::storyboard {

struct LoadOptions {
  ValidationOptions validation;
  const MigrationRegistry* migrations = nullptr;  // nullptr: MigrationRegistry::builtin()
};

// A document as far as it could be read, with every problem found in it.
struct CheckedStoryboard {
  Storyboard storyboard;  // values that could not be read keep their defaults
  std::vector<Issue> issues;
  int loaded_version = kFormatVersion;  // the file's version before migration
  bool ok() const { return issues.empty(); }
};

// Larger files are refused before reading: no real storyboard comes near it.
inline constexpr size_t kMaxFileBytes = 8u << 20;

// Parses and validates JSON text. Problems in the document come back as issues; fatal problems
// throw: malformed JSON (Error(Format) with line and column), a document that is not a storyboard
// (Error(Format)), a version newer than this build or too old to upgrade (Error(Unsupported)).
CheckedStoryboard check_text(std::string_view json_text, const std::filesystem::path& base_dir,
                             const LoadOptions& options = {});
// check_text() on a file, with relative media paths resolved against the file's folder.
// Error(NotFound) / Error(Io) for a missing or unreadable file, Error(Format) for one that is not a
// regular file or is larger than kMaxFileBytes.
CheckedStoryboard check_file(const std::filesystem::path& file, const LoadOptions& options = {});

// As check_text() / check_file(), but any issue throws Error(Validation) listing all of them.
Storyboard parse(std::string_view json_text, const std::filesystem::path& base_dir,
                 const LoadOptions& options = {});
Storyboard load(const std::filesystem::path& file, const LoadOptions& options = {});

// The canonical JSON text of a storyboard. Error(Validation) for what JSON cannot hold (strings
// that are not UTF-8, numbers that are not finite); other rule breaks are written as they are, so
// an unfinished storyboard can still be saved.
std::string to_json_text(const Storyboard& storyboard);

// Writes to_json_text() atomically; the previous version of the file is kept as "<file>.bak".
void save(const Storyboard& storyboard, const std::filesystem::path& file);

}  // namespace reelforge::storyboard
