// `reelforge storyboard new|validate|show`: create a starter storyboard, check one, or print it.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"

namespace fs = std::filesystem;

namespace reelforge::cli {

const char* const kStoryboardUsage = R"(Usage:
  reelforge storyboard new FILE [--title T] [--aspect A] [--resolution R] [--prompt TEXT]
                                [--seed N] [--force]
  reelforge storyboard validate FILE
  reelforge storyboard show FILE [--json]

new       writes a starter storyboard with one 5 s shot. It refuses to replace an existing
          file unless --force is given (the replaced file is kept as FILE.bak).
            --title T        the title (default: the file's name)
            --aspect A       16:9 | 9:16 | 1:1 (default: 16:9)
            --resolution R   480p | 720p | 1080p (default: 720p)
            --prompt TEXT    the first shot's prompt
            --seed N         the project seed, 0..18446744073709551615 (default: random)
validate  prints "ok: N shots, T s", or every problem (JSON path: reason), one per line, and
          exits with 7 when there is any.
show      prints the settings and each shot with its timing, prompt, media and transition;
          --json prints the same as JSON. Problems are listed after it (exit code 7).
)";

namespace {

using namespace reelforge::storyboard;

constexpr const char* kStarterPrompt =
    "A quiet harbour at dawn, fishing boats rocking gently on calm water, soft mist, "
    "warm light, slow aerial shot";

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Text from the document, safe to print: control characters (a newline in a prompt, or an escape
// sequence planted in a file) are shown escaped instead of acting on the terminal.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string shot_count(size_t n) {
  return std::to_string(n) + (n == 1 ? " shot" : " shots");
}

uint64_t parse_seed(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "--seed expects a whole number from 0 to 18446744073709551615, got '" + text + "'");
  }
  return v;
}

uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ rd();
}

int run_new(Args& args) {
  Storyboard sb;
  const auto title = args.option("--title");
  if (auto a = args.option("--aspect")) sb.project.aspect = media::parse_aspect(*a);
  if (auto r = args.option("--resolution")) sb.project.resolution = media::parse_resolution(*r);
  const std::string prompt = args.option_or("--prompt", kStarterPrompt);
  const auto seed = args.option("--seed");
  const bool force = args.flag("--force");
  const fs::path file = args.positional("the storyboard FILE to create");
  args.finish();

  std::error_code ec;
  if (fs::exists(fs::symlink_status(file, ec)) && !force) {
    throw Error(ErrorCategory::InvalidArgument,
                "already exists; pass --force to replace it (the current file is then kept as " +
                    file.filename().string() + ".bak)",
                file.string());
  }
  sb.title = title ? *title : file.stem().string();
  sb.project.seed = seed ? parse_seed(*seed) : random_seed();
  Shot shot;
  shot.id = "shot-1";
  shot.prompt = prompt;
  shot.duration_s = 5;
  sb.shots.push_back(shot);

  // Only the values given here can be wrong (a prompt too long, a title with a newline).
  ValidationOptions options;
  options.media = MediaChecks::None;
  throw_if_issues(validate(sb, file.parent_path(), options), file.string());
  save(sb, file);
  std::printf("created %s: %s, %s s, %s %s, seed %llu\n", file.c_str(),
              shot_count(sb.shots.size()).c_str(), num(sb.total_duration_s()).c_str(),
              media::to_string(sb.project.aspect), media::to_string(sb.project.resolution),
              static_cast<unsigned long long>(sb.project.seed));
  return 0;
}

int report_issues(const fs::path& file, const std::vector<Issue>& issues, FILE* out) {
  for (const Issue& issue : issues) std::fprintf(out, "%s\n", printable(to_string(issue)).c_str());
  std::fprintf(stderr, "reelforge: %s: %s: %zu %s\n", to_string(ErrorCategory::Validation),
               file.c_str(), issues.size(), issues.size() == 1 ? "problem" : "problems");
  return exit_code_for(ErrorCategory::Validation);
}

int run_validate(Args& args) {
  const fs::path file = args.positional("the storyboard FILE");
  args.finish();
  const CheckedStoryboard checked = check_file(file);
  if (!checked.ok()) return report_issues(file, checked.issues, stdout);
  std::printf("ok: %s, %s s\n", shot_count(checked.storyboard.shots.size()).c_str(),
              num(checked.storyboard.total_duration_s()).c_str());
  return 0;
}

fs::path base_dir_of(const fs::path& file) {
  return file.parent_path().empty() ? fs::path(".") : file.parent_path();
}

void print_json(const fs::path& file, const CheckedStoryboard& checked) {
  using ojson = nlohmann::ordered_json;
  const Storyboard& sb = checked.storyboard;
  const media::FrameSize size = media::preset_size(sb.project.aspect, sb.project.resolution);
  ojson out;
  out["file"] = file.string();
  out["title"] = sb.title;
  out["project"] = {{"aspect", media::to_string(sb.project.aspect)},
                    {"resolution", media::to_string(sb.project.resolution)},
                    {"width_px", size.width_px},
                    {"height_px", size.height_px},
                    {"fps", sb.project.fps},
                    {"model", sb.project.model},
                    {"quality", to_string(sb.project.quality)},
                    {"seed", sb.project.seed}};
  out["total_duration_s"] = sb.total_duration_s();
  ojson shots = ojson::array();
  const auto timeline = sb.timeline();
  for (size_t i = 0; i < sb.shots.size(); ++i) {
    const Shot& s = sb.shots[i];
    ojson shot;
    shot["id"] = s.id;
    shot["start_s"] = timeline[i].start_s;
    shot["end_s"] = timeline[i].end_s;
    shot["duration_s"] = s.duration_s;
    shot["prompt"] = s.prompt;
    shot["negative_prompt"] = s.negative_prompt;
    shot["transition"] = {{"kind", to_string(s.transition.kind)}};
    if (s.transition.kind == TransitionKind::Crossfade) {
      shot["transition"]["duration_s"] = s.transition.duration_s;
    }
    if (s.keyframe) {
      shot["keyframe"] = {
          {"path", s.keyframe->path},
          {"resolved_path", resolve_media_path(s.keyframe->path, base_dir_of(file)).string()},
          {"at", to_string(s.keyframe->at)}};
    }
    if (s.source_video) {
      shot["source_video"] = {
          {"path", s.source_video->path},
          {"resolved_path", resolve_media_path(s.source_video->path, base_dir_of(file)).string()},
          {"strength", s.source_video->strength}};
    }
    shot["seed"] = sb.effective_seed(s);
    shot["seed_is_derived"] = !s.seed.has_value();
    shots.push_back(std::move(shot));
  }
  out["shots"] = std::move(shots);
  ojson issues = ojson::array();
  for (const Issue& issue : checked.issues) {
    issues.push_back({{"path", issue.path}, {"message", issue.message}});
  }
  out["issues"] = std::move(issues);
  std::printf("%s\n", out.dump(2, ' ', false, ojson::error_handler_t::replace).c_str());
}

void print_text(const fs::path& file, const CheckedStoryboard& checked) {
  const Storyboard& sb = checked.storyboard;
  const ProjectSettings& p = sb.project;
  const media::FrameSize size = media::preset_size(p.aspect, p.resolution);
  std::printf("%s\n", sb.title.empty() ? "(untitled)" : printable(sb.title).c_str());
  std::printf("  file      %s", file.c_str());
  if (checked.loaded_version != kFormatVersion) {
    std::printf(" (format version %d, upgraded to %d when saved)", checked.loaded_version,
                kFormatVersion);
  }
  std::printf("\n  output    %s %s (%dx%d), %s fps, %s quality\n", media::to_string(p.aspect),
              media::to_string(p.resolution), size.width_px, size.height_px, num(p.fps).c_str(),
              to_string(p.quality));
  std::printf("  model     %s, seed %llu\n", printable(p.model).c_str(),
              static_cast<unsigned long long>(p.seed));
  std::printf("  length    %s s in %s\n", num(sb.total_duration_s()).c_str(),
              shot_count(sb.shots.size()).c_str());
  const auto timeline = sb.timeline();
  for (size_t i = 0; i < sb.shots.size(); ++i) {
    const Shot& s = sb.shots[i];
    std::printf("\n%zu. %s  %s s - %s s (%s s)\n", i + 1, printable(s.id).c_str(),
                num(timeline[i].start_s).c_str(), num(timeline[i].end_s).c_str(),
                num(s.duration_s).c_str());
    std::printf("   prompt      %s\n", printable(s.prompt).c_str());
    if (!s.negative_prompt.empty())
      std::printf("   negative    %s\n", printable(s.negative_prompt).c_str());
    if (s.transition.kind == TransitionKind::Crossfade) {
      std::printf("   transition  crossfade %s s from shot %zu\n",
                  num(s.transition.duration_s).c_str(), i);
    } else {
      std::printf("   transition  cut\n");
    }
    if (s.keyframe) {
      std::printf("   keyframe    %s (%s frame)\n", printable(s.keyframe->path).c_str(),
                  to_string(s.keyframe->at));
    }
    if (s.source_video) {
      std::printf("   source      %s (strength %s)\n", printable(s.source_video->path).c_str(),
                  num(s.source_video->strength).c_str());
    }
    std::printf("   seed        %llu%s\n", static_cast<unsigned long long>(sb.effective_seed(s)),
                s.seed ? "" : " (derived from the project seed)");
  }
}

int run_show(Args& args) {
  const bool json = args.flag("--json");
  const fs::path file = args.positional("the storyboard FILE");
  args.finish();
  const CheckedStoryboard checked = check_file(file);
  if (json) {
    print_json(file, checked);
  } else {
    print_text(file, checked);
  }
  if (!checked.ok()) {
    if (!json) std::printf("\n");
    std::fflush(stdout);
    return report_issues(file, checked.issues, json ? stderr : stdout);
  }
  return 0;
}

}  // namespace

int run_storyboard(Args& args) {
  const std::string action = args.positional("an action: new, validate or show");
  if (action == "new") return run_new(args);
  if (action == "validate") return run_validate(args);
  if (action == "show") return run_show(args);
  throw Error(ErrorCategory::InvalidArgument,
              "unknown storyboard action '" + action + "'; valid: new, validate, show");
}

}  // namespace reelforge::cli
