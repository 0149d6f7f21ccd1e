#pragma once
// Checking a storyboard against the rules of its format and of the models that render it. Every
// problem is collected (not just the first), each named by the JSON Pointer of the offending value
// (RFC 6901, e.g. "/shots/2/duration_s"), so an editor can point at it and a user can fix them all
// in one pass.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reelforge/storyboard/storyboard.hpp"

namespace reelforge::storyboard {

struct Issue {
  std::string path;  // JSON Pointer; "" is the whole document
  std::string message;
};
bool operator==(const Issue& a, const Issue& b);

// "path: message", or just the message for the whole document.
std::string to_string(const Issue& issue);

// Counts the tokens a prompt will take in the text encoder, including special tokens.
using TokenCounter = std::function<size_t(std::string_view utf8_text)>;

// The default TokenCounter until the pipeline passes the model's own tokenizer: Unicode code
// points + 2 (SentencePiece's word-start marker before the first word, and EOS). A SentencePiece
// token covers at least one code point, so this never undercounts text whose characters are in the
// vocabulary; it overcounts ordinary prose several times, so it only rejects prompts that are
// certainly too long for a 512-token encoder when they run to several hundred words.
size_t count_tokens_upper_bound(std::string_view utf8_text);

enum class MediaChecks {
  Full,       // files exist, the keyframe loads as an image and the source video probes
  Existence,  // files exist (no decoding)
  None,       // only the path strings are checked: for fuzzing and for documents in transit
};

struct ValidationOptions {
  size_t max_prompt_tokens = 512;  // Wan 2.x's umT5 text_len
  TokenCounter count_tokens;       // empty: count_tokens_upper_bound
  MediaChecks media = MediaChecks::Full;
};

// Every problem in `storyboard`, in document order; empty when it is valid. Relative media paths
// are resolved against `base_dir` (the document's folder). Throws only for failures that are not
// the document's fault (none today: unreadable media is an Issue).
std::vector<Issue> validate(const Storyboard& storyboard, const std::filesystem::path& base_dir,
                            const ValidationOptions& options = {});

// Throws Error(Validation) whose message lists `issues` (one per line, the first 100 of them),
// with `context` (usually the file) as the error's context. Does nothing when `issues` is empty.
void throw_if_issues(const std::vector<Issue>& issues, const std::string& context = {});

// A media path as the renderer will open it: absolute paths unchanged, relative ones joined to
// `base_dir` and made lexically normal.
std::filesystem::path resolve_media_path(std::string_view path,
                                         const std::filesystem::path& base_dir);

// The byte offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF are ill-formed), or nullopt when all is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

// RFC 6901 escaping of one reference token ("~" -> "~0", "/" -> "~1").
std::string escape_pointer_token(std::string_view token);

}  // namespace reelforge::storyboard
