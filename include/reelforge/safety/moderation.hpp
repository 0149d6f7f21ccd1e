#pragma once
// Local prompt moderation: a JSON policy of categories (words, phrases, regular expressions) and an
// allow-list, checked against every prompt before anything heavy runs. No service is asked.
//
// Matching works on a normalised form of the prompt so that trivial disguises do not pass:
// case and common Latin accents are folded (UTF-8), zero-width characters are dropped, leetspeak
// digits and symbols are read as letters (4->a 3->e 1->i/l 0->o 5->s 7->t @->a $->s), letters
// spelled out with spaces or separators ("k i l l", "k.i.l.l") are joined, and runs of a repeated
// letter ("kiiill") match the word. Words match whole words only; a word ending in '*' matches any
// word starting with it ("dismember*"). Entries containing CJK characters match as substrings of
// the prompt's CJK text (Chinese has no spaces between words). Allow-list phrases are removed from
// the prompt before any category is checked, so "a killer whale" never meets the word "killer".
// Regular expressions (ECMAScript, case-insensitive) run on the normalised Latin text: lower-case
// words separated by single spaces.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace reelforge::safety {

struct ModerationCategory {
  std::string id;           // e.g. "graphic_violence"
  std::string description;  // shown to the user when a prompt is blocked
  std::vector<std::string> words;
  std::vector<std::string> phrases;
  std::vector<std::string> regexes;
};

// A validated, compiled policy. Load it once and share it: moderate() does not change it.
class ModerationPolicy {
 public:
  // Error(NotFound)/Error(Io) for the file, Error(Format) for broken JSON, Error(Validation)
  // naming the JSON path (e.g. "categories[2].regexes[0]") of a bad value.
  static ModerationPolicy load(const std::filesystem::path& path);
  static ModerationPolicy from_json(const nlohmann::json& json);
  // The policy shipped in assets/safety/policy.json under resource_root().
  static std::filesystem::path default_path();

  const std::vector<ModerationCategory>& categories() const { return categories_; }
  const std::vector<std::string>& allow_list() const { return allow_list_; }
  int version() const { return version_; }

  // Compiled matching data; public for moderate() only.
  struct Compiled;
  const Compiled& compiled() const { return *compiled_; }

 private:
  int version_ = 1;
  std::vector<ModerationCategory> categories_;
  std::vector<std::string> allow_list_;
  std::shared_ptr<const Compiled> compiled_;
};

enum class Decision { Allowed, Blocked };

struct Verdict {
  Decision decision = Decision::Allowed;
  std::string category;     // id of the first category that matched; empty when allowed
  std::string description;  // that category's description
  std::string term;         // the policy entry that matched (word, phrase or regex)
  bool blocked() const { return decision == Decision::Blocked; }
};

// Checks one prompt; categories are tried in policy order and the first match decides.
Verdict moderate(const ModerationPolicy& policy, std::string_view prompt);

// The text moderate() matches Latin entries against (exposed for tests and for the audit of a
// policy): folded, de-obfuscated words joined by single spaces.
std::string normalize_for_matching(std::string_view text);

// Appends one JSON object per line to a local file: time (UTC, ISO 8601), verdict, category, term,
// shot and the SHA-256 of the prompt (the prompt itself is not stored). Each record is written with
// one append and flushed to disk before record() returns, so a crash loses at most the record
// being written and never corrupts earlier ones. Safe to share between threads.
class AuditLog {
 public:
  // Creates the file (and its folder) if needed. Error(Io) naming the path when it cannot.
  explicit AuditLog(std::filesystem::path path);
  void record(const Verdict& verdict, std::string_view prompt, std::string_view shot);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::mutex mutex_;
};

// Lower-case hex SHA-256 of `data` (the audit log's prompt hash).
std::string sha256_hex(std::string_view data);

}  // namespace reelforge::safety
