#include "reelforge/storyboard/io.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace reelforge::storyboard {
namespace {

constexpr size_t kMaxDepth = 64;  // a storyboard is 4 levels deep; this only stops abuse

// Beyond this many problems a list stops helping anyone; capping it also bounds the memory and
// time a hostile file can cost (one with a problem in each of a million objects).
constexpr size_t kMaxIssues = 1000;

// Appends unless `issues` is full; counts what it drops so the total can still be told.
void add_capped(std::vector<Issue>& issues, size_t& dropped, Issue issue) {
  if (issues.size() < kMaxIssues) {
    issues.push_back(std::move(issue));
  } else {
    ++dropped;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON text -> DOM. nlohmann's own DOM parser silently keeps the last of duplicate keys and
// reports errors without saying where in the document they are; this builder does both, and
// bounds the nesting so later recursive walks cannot exhaust the stack.

struct FatalParse {
  std::string pointer;  // where in the document the parser was
  size_t position = 0;  // bytes read when it failed
  std::string reason;
};

class DomBuilder {
 public:
  json root;
  std::vector<Issue> duplicates;
  size_t dropped = 0;
  std::optional<FatalParse> failure;

  bool null() { return place(json(nullptr)); }
  bool boolean(bool v) { return place(json(v)); }
  bool number_integer(json::number_integer_t v) { return place(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return place(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return place(json(v)); }
  bool string(json::string_t& v) { return place(json(std::move(v))); }
  bool binary(json::binary_t&) { return place(json(nullptr)); }  // never produced from text

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    Frame& top = stack_.back();
    top.key = k;
    top.awaiting_value = true;
    if (!top.keys.insert(k).second) {
      add_capped(duplicates, dropped,
                 {top.pointer + "/" + escape_pointer_token(k),
                  "duplicate key; only the last of them would be used"});
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    FatalParse f;
    f.pointer = current_pointer();
    f.position = position;
    f.reason = e.what();
    failure = std::move(f);
    return false;
  }

 private:
  struct Frame {
    json* value = nullptr;
    std::string pointer;
    size_t next_index = 0;
    std::string key;
    bool awaiting_value = false;
    std::unordered_set<std::string> keys;
  };

  std::string current_pointer() const {
    if (stack_.empty()) return "";
    const Frame& top = stack_.back();
    if (top.value->is_array()) return top.pointer + "/" + std::to_string(top.next_index);
    if (top.awaiting_value) return top.pointer + "/" + escape_pointer_token(top.key);
    return top.pointer;
  }

  json* insert(json&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    Frame& top = stack_.back();
    if (top.value->is_array()) {
      ++top.next_index;
      top.value->push_back(std::move(v));
      return &top.value->back();
    }
    top.awaiting_value = false;
    json& slot = (*top.value)[top.key];
    slot = std::move(v);
    return &slot;
  }

  bool place(json&& v) {
    insert(std::move(v));
    return true;
  }

  bool open(json&& container) {
    const std::string pointer = current_pointer();
    if (stack_.size() >= kMaxDepth) {
      failure =
          FatalParse{pointer, 0, "nested deeper than " + std::to_string(kMaxDepth) + " levels"};
      return false;
    }
    json* slot = insert(std::move(container));
    Frame frame;
    frame.value = slot;
    frame.pointer = pointer;
    stack_.push_back(std::move(frame));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::vector<Frame> stack_;
};

// nlohmann's message, without its "[json.exception...] parse error at line L, column C: " prefix
// (the position is reported from our own count).
std::string parse_reason(const std::string& what) {
  const size_t column = what.find("column ");
  if (column != std::string::npos) {
    const size_t colon = what.find(": ", column);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  return what;
}

bool is_literal_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.';
}

// Where the token that ends just before `end` begins. After an "unexpected" token the parser
// stands past it, while a user looks for its start (a string: its opening quote).
size_t token_start(std::string_view text, size_t end) {
  end = std::min(end, text.size());
  if (end == 0) return 0;
  size_t i = end - 1;
  if (text[i] == '"') {
    for (size_t j = i; j > 0;) {
      --j;
      if (text[j] != '"') continue;
      size_t backslashes = 0;
      for (size_t k = j; k > 0 && text[k - 1] == '\\'; --k) ++backslashes;
      if (backslashes % 2 == 0) return j;
    }
    return i;
  }
  while (is_literal_char(text[i]) && i > 0 && is_literal_char(text[i - 1])) --i;
  return i;
}

struct LineColumn {
  size_t line = 1;
  size_t column = 1;
};

LineColumn line_column(std::string_view text, size_t offset) {
  LineColumn lc;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      lc.column = 1;
    } else {
      ++lc.column;
    }
  }
  return lc;
}

json parse_dom(std::string_view text, std::vector<Issue>& issues, size_t& dropped,
               const std::string& context) {
  DomBuilder builder;
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!ok || builder.failure) {
    const FatalParse f = builder.failure.value_or(FatalParse{"", 0, "unknown parse error"});
    std::string message;
    // The parser stops at (or just after) the byte that broke a UTF-8 sequence; the sequence's
    // first byte is the one worth showing. The parser's message is no guide: it quotes the
    // input, which may itself say "UTF-8".
    const auto bad_utf8 = find_invalid_utf8(text);
    if (bad_utf8 && *bad_utf8 < f.position) {
      const size_t offset = *bad_utf8;
      const LineColumn lc = line_column(text, offset);
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[offset]));
      message = "not valid UTF-8: byte " + std::string(byte) + " at byte offset " +
                std::to_string(offset) + " (line " + std::to_string(lc.line) + ", column " +
                std::to_string(lc.column) + "); storyboards are UTF-8 text";
      if (!f.pointer.empty()) message = f.pointer + ": " + message;
    } else if (f.position == 0) {
      message = (f.pointer.empty() ? "" : f.pointer + ": ") + f.reason;
    } else {
      const bool unexpected_token = f.reason.find(" - unexpected ") != std::string::npos;
      const LineColumn lc =
          line_column(text, unexpected_token ? token_start(text, f.position) : f.position - 1);
      message = "malformed JSON at line " + std::to_string(lc.line) + ", column " +
                std::to_string(lc.column) + ": " + parse_reason(f.reason);
    }
    throw Error(ErrorCategory::Format, message, context);
  }
  issues.insert(issues.end(), builder.duplicates.begin(), builder.duplicates.end());
  dropped += builder.dropped;
  return std::move(builder.root);
}

// ---------------------------------------------------------------------------------------------
// DOM -> Storyboard, collecting every structural problem (unknown or missing fields, wrong
// types, unknown enum values). Rule checks on the values are validate()'s job.

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string type_phrase(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unexpected value";
  }
}

std::string short_json(const json& j) {
  std::string s = j.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

class Reader {
 public:
  Reader(std::vector<Issue>& issues, size_t& dropped) : issues_(issues), dropped_(dropped) {}

  void add(std::string path, std::string message) {
    add_capped(issues_, dropped_, {std::move(path), std::move(message)});
  }

  // False (after reporting) when `j` is not an object. Reports every member not in `known`.
  bool object(const json& j, const std::string& path, std::initializer_list<const char*> known) {
    if (!j.is_object()) {
      add(path, "expected an object, got " + type_phrase(j));
      return false;
    }
    for (const auto& [key, value] : j.items()) {
      bool is_known = false;
      for (const char* k : known) is_known = is_known || key == k;
      if (is_known) continue;
      std::string message = "unknown field";
      // Suggest a near miss ("promt" -> "prompt"); very long keys are not typos of ours.
      if (key.size() <= 64) {
        const char* best = nullptr;
        size_t best_distance = SIZE_MAX;
        for (const char* k : known) {
          const size_t d = edit_distance(key, k);
          if (d < best_distance) best_distance = d, best = k;
        }
        if (best && best_distance <= std::max<size_t>(2, key.size() / 3) &&
            best_distance < key.size()) {
          message += "; did you mean \"" + std::string(best) + "\"?";
        }
      }
      std::string valid;
      for (const char* k : known) valid += std::string(valid.empty() ? "" : ", ") + k;
      add(path + "/" + escape_pointer_token(key), message + " (valid here: " + valid + ")");
    }
    return true;
  }

  const json* member(const json& obj, const char* key, const std::string& path, bool required) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) add(path + "/" + key, "missing required field");
      return nullptr;
    }
    return &*it;
  }

  bool string(const json& obj, const char* key, const std::string& path, bool required,
              std::string& out) {
    const json* v = member(obj, key, path, required);
    if (!v) return false;
    if (!v->is_string()) {
      add(path + "/" + key, "expected a string, got " + type_phrase(*v));
      return false;
    }
    out = v->get_ref<const std::string&>();
    return true;
  }

  void number(const json& obj, const char* key, const std::string& path, bool required,
              double& out) {
    const json* v = member(obj, key, path, required);
    if (!v) {
      if (required) out = std::nan("");  // missing: keep it out of sums and neighbour checks
      return;
    }
    if (!v->is_number()) {
      add(path + "/" + key, "expected a number, got " + type_phrase(*v));
      out = std::nan("");  // so that rule checks on neighbours leave it alone
      return;
    }
    out = v->get<double>();
  }

  void seed(const json& obj, const char* key, const std::string& path, bool required,
            uint64_t& out) {
    const json* v = member(obj, key, path, required);
    if (!v) return;
    if (v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0)) {
      out = v->get<uint64_t>();
      return;
    }
    add(path + "/" + key, "expected a whole number from 0 to 18446744073709551615, got " +
                              (v->is_number() ? short_json(*v) : type_phrase(*v)));
  }

  // True when the value was read into `out`.
  template <typename Enum, typename Parse>
  bool enumeration(const json& obj, const char* key, const std::string& path, bool required,
                   Enum& out, Parse parse) {
    std::string text;
    if (!string(obj, key, path, required, text)) return false;
    try {
      out = parse(text);
      return true;
    } catch (const Error& e) {
      add(path + "/" + key, e.message());
      return false;
    }
  }

 private:
  std::vector<Issue>& issues_;
  size_t& dropped_;
};

// Structural problems go to `issues`; notes that do not make a value unreadable (too many shots)
// go to `notes`, so they do not hide the rule checks below them.
Storyboard read_storyboard(const json& doc, std::vector<Issue>& issues, std::vector<Issue>& notes,
                           size_t& dropped) {
  Reader r(issues, dropped);
  Storyboard sb;
  r.object(doc, "", {"format", "version", "title", "project", "shots"});
  r.string(doc, "title", "", false, sb.title);

  if (const json* p = r.member(doc, "project", "", true)) {
    const std::string path = "/project";
    if (r.object(*p, path, {"aspect", "resolution", "fps", "model", "quality", "seed"})) {
      ProjectSettings& s = sb.project;
      r.enumeration(*p, "aspect", path, true, s.aspect, media::parse_aspect);
      r.enumeration(*p, "resolution", path, true, s.resolution, media::parse_resolution);
      r.number(*p, "fps", path, true, s.fps);
      r.string(*p, "model", path, true, s.model);
      r.enumeration(*p, "quality", path, true, s.quality, parse_quality_preset);
      r.seed(*p, "seed", path, true, s.seed);
    }
  }

  const json* shots = r.member(doc, "shots", "", true);
  if (shots && !shots->is_array()) {
    r.add("/shots", "expected an array of shots, got " + type_phrase(*shots));
  } else if (shots) {
    if (shots->size() > kMaxShots) {
      notes.push_back({"/shots", std::to_string(shots->size()) +
                                     " shots is more than a storyboard can hold (" +
                                     std::to_string(kMaxShots) + "); only the first " +
                                     std::to_string(kMaxShots) + " were checked"});
    }
    for (size_t i = 0; i < shots->size() && i < kMaxShots; ++i) {
      const json& j = (*shots)[i];
      const std::string path = "/shots/" + std::to_string(i);
      Shot shot;
      if (r.object(j, path,
                   {"id", "prompt", "negative_prompt", "duration_s", "transition", "keyframe",
                    "source_video", "continuity", "seed"})) {
        r.string(j, "id", path, true, shot.id);
        r.string(j, "prompt", path, true, shot.prompt);
        r.string(j, "negative_prompt", path, false, shot.negative_prompt);
        r.number(j, "duration_s", path, true, shot.duration_s);
        if (const json* t = r.member(j, "transition", path, false)) {
          const std::string tpath = path + "/transition";
          if (r.object(*t, tpath, {"kind", "duration_s"})) {
            Transition& tr = shot.transition;
            if (r.enumeration(*t, "kind", tpath, true, tr.kind, parse_transition_kind)) {
              if (tr.kind == TransitionKind::Crossfade) {
                r.number(*t, "duration_s", tpath, true, tr.duration_s);
              } else if (t->contains("duration_s")) {
                r.add(tpath + "/duration_s", "a cut has no duration; remove it or use a crossfade");
              }
            }
          }
        }
        if (const json* k = r.member(j, "keyframe", path, false)) {
          const std::string kpath = path + "/keyframe";
          Keyframe kf;
          if (r.object(*k, kpath, {"path", "at"})) {
            r.string(*k, "path", kpath, true, kf.path);
            r.enumeration(*k, "at", kpath, true, kf.at, parse_keyframe_at);
          }
          shot.keyframe = std::move(kf);
        }
        if (const json* v = r.member(j, "source_video", path, false)) {
          const std::string vpath = path + "/source_video";
          SourceVideo sv;
          if (r.object(*v, vpath, {"path", "strength"})) {
            r.string(*v, "path", vpath, true, sv.path);
            r.number(*v, "strength", vpath, true, sv.strength);
          }
          shot.source_video = std::move(sv);
        }
        r.enumeration(j, "continuity", path, false, shot.continuity, parse_continuity);
        if (j.contains("seed")) {
          const json& v = *j.find("seed");
          if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
            shot.seed = v.get<uint64_t>();
          } else {
            uint64_t unused = 0;
            r.seed(j, "seed", path, false, unused);  // reports the problem
          }
        }
      }
      sb.shots.push_back(std::move(shot));
    }
  }
  return sb;
}

// Orders issues as a reader meets them: document-wide ones first, then those about the shot list
// as a whole, then shot by shot. The sort is stable, so each shot keeps its field order.
void sort_issues(std::vector<Issue>& issues) {
  auto rank = [](const std::string& path) -> size_t {
    static const std::string prefix = "/shots/";
    if (path == "/shots") return 1;
    if (path.compare(0, prefix.size(), prefix) != 0) return 0;
    size_t index = 0;
    for (size_t i = prefix.size(); i < path.size() && path[i] != '/'; ++i) {
      if (path[i] < '0' || path[i] > '9') return SIZE_MAX - 1;
      index = std::min<size_t>(index * 10 + size_t(path[i] - '0'), SIZE_MAX / 16);
    }
    return index + 2;
  };
  std::stable_sort(issues.begin(), issues.end(),
                   [&](const Issue& a, const Issue& b) { return rank(a.path) < rank(b.path); });
}

// True when `path` or one of its ancestors is in `reported`. A set, so that a huge document with
// an issue on every shot is filtered in linear time.
bool covered(const std::unordered_set<std::string>& reported, const std::string& path) {
  for (size_t end = path.size();; end = path.rfind('/', end - 1)) {
    if (reported.count(path.substr(0, end)) != 0) return true;
    if (end == 0 || end == std::string::npos) return false;
  }
}

int read_version(const json& doc, const std::string& context) {
  if (!doc.is_object()) {
    throw Error(ErrorCategory::Format,
                "not a ReelForge storyboard: expected a JSON object, got " + type_phrase(doc),
                context);
  }
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || *format != kFormatName) {
    const std::string found =
        format == doc.end() ? "there is no \"format\"" : "\"format\" is " + short_json(*format);
    throw Error(ErrorCategory::Format,
                "not a ReelForge storyboard: " + found + "; expected \"" + kFormatName + "\"",
                context);
  }
  auto version = doc.find("version");
  if (version == doc.end()) {
    throw Error(ErrorCategory::Format, "/version: missing required field", context);
  }
  const bool whole = version->is_number_unsigned() ||
                     (version->is_number_integer() && version->get<int64_t>() >= 0);
  if (!whole) {
    throw Error(ErrorCategory::Format,
                "/version: expected a whole number (this build writes " +
                    std::to_string(kFormatVersion) + "), got " + short_json(*version),
                context);
  }
  const uint64_t v = version->get<uint64_t>();
  if (v > uint64_t(kFormatVersion)) {
    throw Error(ErrorCategory::Unsupported,
                "/version: format version " + std::to_string(v) +
                    " is newer than this build of ReelForge understands (up to " +
                    std::to_string(kFormatVersion) + "); update ReelForge to open it",
                context);
  }
  return static_cast<int>(v);
}

CheckedStoryboard check_text_impl(std::string_view text, const fs::path& base_dir,
                                  const LoadOptions& options, const std::string& context) {
  CheckedStoryboard result;
  std::vector<Issue> notes;
  size_t dropped = 0;
  json doc = parse_dom(text, notes, dropped, context);
  result.loaded_version = read_version(doc, context);
  if (result.loaded_version < kFormatVersion) {
    const MigrationRegistry& migrations =
        options.migrations ? *options.migrations : MigrationRegistry::builtin();
    try {
      migrations.apply(doc, result.loaded_version, kFormatVersion);
    } catch (const Error& e) {
      throw Error(e.category(), e.what(), context);
    }
  }
  std::vector<Issue> structural;
  result.storyboard = read_storyboard(doc, structural, notes, dropped);

  // A value that could not be read keeps a default; rule checks on it would only repeat the
  // problem in other words, so they are dropped when a structural issue already covers the path.
  std::vector<Issue> rules = validate(result.storyboard, base_dir, options.validation);
  std::unordered_set<std::string> unreadable;
  for (const Issue& issue : structural) unreadable.insert(issue.path);
  result.issues = std::move(notes);
  result.issues.insert(result.issues.end(), structural.begin(), structural.end());
  for (Issue& issue : rules) {
    if (!covered(unreadable, issue.path)) result.issues.push_back(std::move(issue));
  }
  sort_issues(result.issues);
  if (result.issues.size() > kMaxIssues) {
    ++dropped;
    result.issues.resize(kMaxIssues);
  }
  if (dropped > 0) {
    // No count: once the reader stops recording, it can no longer tell echoes from new problems.
    result.issues.push_back({"", "more problems were found; only the first " +
                                     std::to_string(kMaxIssues) + " are listed"});
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Storyboard -> canonical text.

using ojson = nlohmann::ordered_json;

// Whole numbers are written without a fraction ("5", not "5.0"), others in the shortest form that
// reads back to the same double, so values survive any number of load/save cycles unchanged.
ojson number_value(double x) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9007199254740992.0) {
    return ojson(static_cast<int64_t>(x));
  }
  return ojson(x);
}

void check_representable(const Storyboard& sb) {
  std::vector<Issue> issues;
  auto text = [&](const std::string& path, const std::string& s) {
    if (auto offset = find_invalid_utf8(s)) {
      issues.push_back({path, "not valid UTF-8 at byte offset " + std::to_string(*offset) +
                                  "; JSON cannot hold it"});
    }
  };
  auto finite = [&](const std::string& path, double x) {
    if (!std::isfinite(x)) issues.push_back({path, "not a finite number; JSON cannot hold it"});
  };
  text("/title", sb.title);
  text("/project/model", sb.project.model);
  finite("/project/fps", sb.project.fps);
  for (size_t i = 0; i < sb.shots.size(); ++i) {
    const Shot& s = sb.shots[i];
    const std::string base = "/shots/" + std::to_string(i);
    text(base + "/id", s.id);
    text(base + "/prompt", s.prompt);
    text(base + "/negative_prompt", s.negative_prompt);
    finite(base + "/duration_s", s.duration_s);
    if (s.transition.kind == TransitionKind::Crossfade) {
      finite(base + "/transition/duration_s", s.transition.duration_s);
    }
    if (s.keyframe) text(base + "/keyframe/path", s.keyframe->path);
    if (s.source_video) {
      text(base + "/source_video/path", s.source_video->path);
      finite(base + "/source_video/strength", s.source_video->strength);
    }
  }
  throw_if_issues(issues);
}

}  // namespace

CheckedStoryboard check_text(std::string_view json_text, const fs::path& base_dir,
                             const LoadOptions& options) {
  return check_text_impl(json_text, base_dir, options, {});
}

CheckedStoryboard check_file(const fs::path& file, const LoadOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (!fs::exists(status)) throw Error(ErrorCategory::NotFound, "no such file", file.string());
  // A FIFO or a device would block or never end; a storyboard is always a plain file.
  if (!fs::is_regular_file(status)) {
    throw Error(ErrorCategory::Format, "not a regular file", file.string());
  }
  const auto size = fs::file_size(file, ec);
  if (!ec && size > kMaxFileBytes) {
    throw Error(ErrorCategory::Format,
                std::to_string(size) + " bytes is too large for a storyboard (the limit is " +
                    std::to_string(kMaxFileBytes) + ")",
                file.string());
  }
  const std::string text = read_file(file);
  fs::path base_dir = file.parent_path();
  if (base_dir.empty()) base_dir = ".";
  return check_text_impl(text, base_dir, options, file.string());
}

Storyboard parse(std::string_view json_text, const fs::path& base_dir, const LoadOptions& options) {
  CheckedStoryboard checked = check_text(json_text, base_dir, options);
  throw_if_issues(checked.issues);
  return std::move(checked.storyboard);
}

Storyboard load(const fs::path& file, const LoadOptions& options) {
  CheckedStoryboard checked = check_file(file, options);
  throw_if_issues(checked.issues, file.string());
  return std::move(checked.storyboard);
}

std::string to_json_text(const Storyboard& sb) {
  check_representable(sb);
  ojson doc;
  doc["format"] = kFormatName;
  doc["version"] = kFormatVersion;
  doc["title"] = sb.title;
  ojson& project = doc["project"];
  project["aspect"] = media::to_string(sb.project.aspect);
  project["resolution"] = media::to_string(sb.project.resolution);
  project["fps"] = number_value(sb.project.fps);
  project["model"] = sb.project.model;
  project["quality"] = to_string(sb.project.quality);
  project["seed"] = sb.project.seed;
  ojson shots = ojson::array();
  for (const Shot& s : sb.shots) {
    ojson shot;
    shot["id"] = s.id;
    shot["prompt"] = s.prompt;
    shot["negative_prompt"] = s.negative_prompt;
    shot["duration_s"] = number_value(s.duration_s);
    ojson transition;
    transition["kind"] = to_string(s.transition.kind);
    if (s.transition.kind == TransitionKind::Crossfade) {
      transition["duration_s"] = number_value(s.transition.duration_s);
    }
    shot["transition"] = std::move(transition);
    if (s.keyframe) {
      shot["keyframe"] = ojson{{"path", s.keyframe->path}, {"at", to_string(s.keyframe->at)}};
    }
    if (s.source_video) {
      shot["source_video"] = ojson{{"path", s.source_video->path},
                                   {"strength", number_value(s.source_video->strength)}};
    }
    if (s.continuity != Continuity::Cut) shot["continuity"] = to_string(s.continuity);
    if (s.seed) shot["seed"] = *s.seed;
    shots.push_back(std::move(shot));
  }
  doc["shots"] = std::move(shots);
  return doc.dump(2) + "\n";
}

void save(const Storyboard& storyboard, const fs::path& file) {
  // Serialised first, so a storyboard JSON cannot hold fails before the old file is touched.
  const std::string text = to_json_text(storyboard);
  write_file_atomic(file, text, Backup::KeepPrevious);
}

}  // namespace reelforge::storyboard
