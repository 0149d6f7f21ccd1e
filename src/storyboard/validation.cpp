#include "reelforge/storyboard/validation.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <system_error>
#include <unordered_map>

#include "reelforge/core/error.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/video_info.hpp"

namespace fs = std::filesystem;

namespace reelforge::storyboard {
namespace {

constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxModelBytes = 128;
constexpr size_t kMaxTitleCodePoints = 200;
constexpr size_t kMaxIssuesInMessage = 100;
// Sums of decimal durations (10.1 + 9.9) land a few ulps off; a user never means that much.
constexpr double kTimeEpsilon_s = 1e-9;

std::string seconds(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g s", x);
  return buf;
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

size_t count_code_points(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_blank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

// Quotes a user's string for a message: JSON escaping shows control characters, and very long
// values are shortened so that one bad field cannot flood the report.
std::string quote_text(std::string_view text) {
  std::string out = "\"";
  size_t shown = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (shown >= 60 && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
    if ((c & 0xC0) != 0x80) ++shown;
  }
  return out + "\"";
}

class Validator {
 public:
  Validator(const fs::path& base_dir, const ValidationOptions& options)
      : base_dir_(base_dir), options_(options) {}

  std::vector<Issue> run(const Storyboard& sb) {
    check_title(sb.title);
    check_project(sb.project);
    check_shots(sb);
    return std::move(issues_);
  }

 private:
  void add(std::string path, std::string message) {
    issues_.push_back({std::move(path), std::move(message)});
  }

  // False (after reporting) when `text` is not UTF-8, so callers skip checks that need characters.
  bool check_utf8(const std::string& path, std::string_view text) {
    if (auto offset = find_invalid_utf8(text)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(text[*offset]));
      add(path, "not valid UTF-8: byte " + std::string(buf) + " at byte offset " +
                    std::to_string(*offset));
      return false;
    }
    return true;
  }

  void check_title(const std::string& title) {
    if (!check_utf8("/title", title)) return;
    for (unsigned char c : title) {
      if (c < 0x20 || c == 0x7f) {
        add("/title", "the title must be one line without control characters");
        return;
      }
    }
    const size_t n = count_code_points(title);
    if (n > kMaxTitleCodePoints) {
      add("/title", std::to_string(n) + " characters is longer than the limit of " +
                        std::to_string(kMaxTitleCodePoints));
    }
  }

  void check_project(const ProjectSettings& p) {
    if (!std::isfinite(p.fps) || p.fps < media::kMinFps || p.fps > media::kMaxFps) {
      add("/project/fps", "fps " + number(p.fps) + " is out of range; valid: " +
                              number(media::kMinFps) + " to " + number(media::kMaxFps));
    }
    if (!check_utf8("/project/model", p.model)) return;
    if (p.model.empty()) {
      add("/project/model", "empty model name; \"builtin\" is the model that ships with ReelForge");
    } else if (p.model.size() > kMaxModelBytes) {
      add("/project/model",
          "model name is longer than " + std::to_string(kMaxModelBytes) + " bytes");
    } else {
      for (char c : p.model) {
        if (!is_id_char(c)) {
          add("/project/model", "model name " + quote_text(p.model) +
                                    " may contain only letters, digits, '.', '_' and '-'");
          break;
        }
      }
    }
  }

  static std::string number(double x) {
    std::string s = seconds(x);
    return s.substr(0, s.size() - 2);
  }

  void check_prompt(const std::string& path, const std::string& text, bool required) {
    if (!check_utf8(path, text)) return;
    if (required && is_blank(text)) {
      add(path, "empty prompt; describe what the shot shows");
      return;
    }
    const size_t tokens =
        options_.count_tokens ? options_.count_tokens(text) : count_tokens_upper_bound(text);
    if (tokens > options_.max_prompt_tokens) {
      add(path, "about " + std::to_string(tokens) + " tokens, over the model's limit of " +
                    std::to_string(options_.max_prompt_tokens) +
                    " (the text encoder would drop the rest); shorten it");
    }
  }

  void check_shots(const Storyboard& sb) {
    if (sb.shots.empty()) {
      add("/shots", "the storyboard has no shots; add at least one");
      return;
    }
    if (sb.shots.size() > kMaxShots) {
      add("/shots", std::to_string(sb.shots.size()) +
                        " shots is more than a storyboard can hold (" + std::to_string(kMaxShots) +
                        ")");
    }
    std::unordered_map<std::string, size_t> first_use;
    bool shot_over_limit = false;
    // An out-of-range fps is reported once, under /project/fps, not again for every shot.
    const bool fps_ok = std::isfinite(sb.project.fps) && sb.project.fps >= media::kMinFps &&
                        sb.project.fps <= media::kMaxFps;
    for (size_t i = 0; i < sb.shots.size(); ++i) {
      const Shot& shot = sb.shots[i];
      const std::string base = "/shots/" + std::to_string(i);
      check_id(base + "/id", shot.id, i, first_use);
      check_prompt(base + "/prompt", shot.prompt, true);
      check_prompt(base + "/negative_prompt", shot.negative_prompt, false);

      const double d = shot.duration_s;
      if (!std::isfinite(d)) {
        add(base + "/duration_s", "the duration must be a finite number of seconds");
      } else if (d <= 0) {
        add(base + "/duration_s", "the duration must be more than 0 s; got " + seconds(d));
      } else if (d > kMaxTotalDuration_s + kTimeEpsilon_s) {
        shot_over_limit = true;
        add(base + "/duration_s",
            seconds(d) + " exceeds the " + seconds(kMaxTotalDuration_s) + " limit of a storyboard");
      } else if (fps_ok && d * sb.project.fps < 1 - kTimeEpsilon_s) {
        add(base + "/duration_s", seconds(d) + " is shorter than one frame at " +
                                      number(sb.project.fps) + " fps (" +
                                      seconds(1 / sb.project.fps) + ")");
      }
      check_transition(sb, i, base + "/transition");
      if (shot.keyframe) {
        check_media_path(base + "/keyframe/path", shot.keyframe->path, MediaKind::Image);
      }
      if (shot.source_video) {
        check_media_path(base + "/source_video/path", shot.source_video->path, MediaKind::Video);
        const double s = shot.source_video->strength;
        if (!std::isfinite(s) || s < 0 || s > 1) {
          add(base + "/source_video/strength",
              "strength " + number(s) +
                  " is out of range; valid: 0 (keep the source) to 1 "
                  "(ignore it)");
        }
      }
      check_continuity(shot, i, base);
    }
    const double total = sb.total_duration_s();
    if (!shot_over_limit && std::isfinite(total) && total > kMaxTotalDuration_s + kTimeEpsilon_s) {
      add("/shots", "the total duration " + seconds(total) + " exceeds the " +
                        seconds(kMaxTotalDuration_s) + " limit of a storyboard");
    }
  }

  // A continued shot is generated onward from the previous shot's last frame, so it cannot also
  // start from a keyframe of its own or fade in over the previous shot.
  void check_continuity(const Shot& shot, size_t index, const std::string& base) {
    if (shot.continuity != Continuity::Continue) return;
    const std::string path = base + "/continuity";
    if (index == 0) {
      add(path, "the first shot has no previous shot to continue from; use \"cut\"");
    }
    if (shot.keyframe && shot.keyframe->at == KeyframeAt::First) {
      add(path, "a shot that continues the previous one cannot also start from a keyframe; "
                "move the keyframe to \"last\" or use \"cut\"");
    }
    if (shot.transition.kind == TransitionKind::Crossfade) {
      add(path, "a shot that continues the previous one cannot crossfade into it; use a cut "
                "transition or continuity \"cut\"");
    }
  }

  void check_id(const std::string& path, const std::string& id, size_t index,
                std::unordered_map<std::string, size_t>& first_use) {
    if (!check_utf8(path, id)) return;
    if (id.empty()) {
      add(path, "empty id; give every shot a unique id such as \"shot-" +
                    std::to_string(index + 1) + "\"");
      return;
    }
    if (id.size() > kMaxIdBytes) {
      add(path, "id is longer than " + std::to_string(kMaxIdBytes) + " bytes");
      return;
    }
    for (char c : id) {
      // Ids name render segments on disk, so they stay safe as file names everywhere.
      if (!is_id_char(c)) {
        add(path, "id " + quote_text(id) + " may contain only letters, digits, '.', '_' and '-'");
        return;
      }
    }
    auto [it, inserted] = first_use.emplace(id, index);
    if (!inserted) {
      add(path, "duplicate id " + quote_text(id) + "; /shots/" + std::to_string(it->second) +
                    " already uses it");
    }
  }

  void check_transition(const Storyboard& sb, size_t i, const std::string& path) {
    const Transition& t = sb.shots[i].transition;
    if (t.kind == TransitionKind::Cut) {
      if (t.duration_s != 0) add(path + "/duration_s", "a cut has no duration");
      return;
    }
    if (i == 0) {
      add(path + "/kind",
          "the first shot can only start with a cut (there is nothing to "
          "crossfade from)");
      return;
    }
    const double d = t.duration_s;
    if (!std::isfinite(d) || d <= 0) {
      add(path + "/duration_s", "a crossfade must last more than 0 s; got " + seconds(d));
      return;
    }
    const Shot& prev = sb.shots[i - 1];
    const Shot& self = sb.shots[i];
    if (std::isfinite(prev.duration_s) && prev.duration_s > 0 && d >= prev.duration_s) {
      add(path + "/duration_s", "a " + seconds(d) +
                                    " crossfade must be shorter than the previous shot /shots/" +
                                    std::to_string(i - 1) + " (" + seconds(prev.duration_s) + ")");
      return;
    }
    if (std::isfinite(self.duration_s) && self.duration_s > 0 && d >= self.duration_s) {
      add(path + "/duration_s", "a " + seconds(d) + " crossfade must be shorter than this shot (" +
                                    seconds(self.duration_s) + ")");
      return;
    }
    // The crossfade into the previous shot and this one must not overlap inside it.
    const Transition& into_prev = prev.transition;
    if (i >= 2 && into_prev.kind == TransitionKind::Crossfade &&
        std::isfinite(into_prev.duration_s) && into_prev.duration_s > 0 &&
        into_prev.duration_s + d > prev.duration_s + kTimeEpsilon_s) {
      add(path + "/duration_s", "crossfades into and out of /shots/" + std::to_string(i - 1) +
                                    " (" + seconds(into_prev.duration_s) + " + " + seconds(d) +
                                    ") overlap; together they must fit in its " +
                                    seconds(prev.duration_s));
    }
  }

  enum class MediaKind { Image, Video };

  void check_media_path(const std::string& path, const std::string& text, MediaKind kind) {
    if (!check_utf8(path, text)) return;
    if (text.empty()) {
      add(path, "empty path");
      return;
    }
    if (text.find('\0') != std::string::npos) {
      add(path, "the path contains a NUL character");
      return;
    }
    if (options_.media == MediaChecks::None) return;
    const fs::path resolved = resolve_media_path(text, base_dir_);
    const std::string key = std::string(kind == MediaKind::Image ? "i" : "v") + resolved.string();
    auto cached = media_results_.find(key);
    if (cached == media_results_.end()) {
      cached = media_results_.emplace(key, check_media_file(text, resolved, kind)).first;
    }
    if (!cached->second.empty()) add(path, cached->second);
  }

  // "" when the file is fine, else the problem. Results are cached because many shots often
  // share one reference image, and decoding it once is enough.
  std::string check_media_file(const std::string& text, const fs::path& resolved,
                               MediaKind kind) const {
    const std::string where =
        fs::path(text).is_absolute()
            ? resolved.string()
            : resolved.string() + " (relative paths start at the storyboard's folder)";
    std::error_code ec;
    const fs::file_status status = fs::status(resolved, ec);
    if (!fs::exists(status)) return "file not found: " + where;
    if (fs::is_directory(status)) return "a folder, not a file: " + where;
    if (options_.media != MediaChecks::Full) return {};
    try {
      if (kind == MediaKind::Image) {
        (void)media::load_image(resolved);
      } else {
        const media::VideoInfo info = media::probe(resolved);
        if (info.is_still_image) {
          return "a still image, not a video: " + where +
                 "; to start from a still, use \"keyframe\" instead";
        }
      }
    } catch (const Error& e) {
      return std::string(kind == MediaKind::Image ? "cannot be read as an image"
                                                  : "cannot be read as a video") +
             ": " + where + " (" + e.message() + ")";
    }
    return {};
  }

  fs::path base_dir_;
  const ValidationOptions& options_;
  std::vector<Issue> issues_;
  std::map<std::string, std::string> media_results_;
};

}  // namespace

bool operator==(const Issue& a, const Issue& b) {
  return a.path == b.path && a.message == b.message;
}

std::string to_string(const Issue& issue) {
  return issue.path.empty() ? issue.message : issue.path + ": " + issue.message;
}

size_t count_tokens_upper_bound(std::string_view utf8_text) {
  return count_code_points(utf8_text) + 2;
}

std::vector<Issue> validate(const Storyboard& storyboard, const fs::path& base_dir,
                            const ValidationOptions& options) {
  return Validator(base_dir, options).run(storyboard);
}

void throw_if_issues(const std::vector<Issue>& issues, const std::string& context) {
  if (issues.empty()) return;
  std::string message = std::to_string(issues.size()) +
                        (issues.size() == 1 ? " problem" : " problems") + " in the storyboard:";
  for (size_t i = 0; i < issues.size() && i < kMaxIssuesInMessage; ++i) {
    message += "\n  " + to_string(issues[i]);
  }
  if (issues.size() > kMaxIssuesInMessage) {
    message += "\n  ... and " + std::to_string(issues.size() - kMaxIssuesInMessage) + " more";
  }
  throw Error(ErrorCategory::Validation, message, context);
}

fs::path resolve_media_path(std::string_view path, const fs::path& base_dir) {
  const fs::path p{std::string(path)};
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal();
  return (base_dir / p).lexically_normal();
}

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte (RFC 3629)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return i;
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

}  // namespace reelforge::storyboard
