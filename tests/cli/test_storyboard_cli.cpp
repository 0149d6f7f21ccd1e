// `reelforge storyboard new|validate|show`, run as a user would: exit codes, messages, files.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;

namespace reelforge {
namespace {

using nlohmann::json;
using testing::run_cli;
using testing::RunResult;
using testing::TempDir;

std::string details(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

TEST(StoryboardCli, NewWritesAValidStarter) {
  TempDir dir;
  const std::string file = (dir / "film.json").string();
  RunResult r = run_cli({"storyboard", "new", file, "--seed", "42"});
  ASSERT_EQ(r.exit_code, 0) << details(r);
  EXPECT_TRUE(contains(r.out, "created " + file + ": 1 shot, 5 s, 16:9 720p, seed 42")) << r.out;

  r = run_cli({"storyboard", "validate", file});
  EXPECT_EQ(r.exit_code, 0) << details(r);
  EXPECT_EQ(r.out, "ok: 1 shot, 5 s\n");

  const json doc = json::parse(read_file(dir / "film.json"));
  EXPECT_EQ(doc["format"], "reelforge.storyboard");
  EXPECT_EQ(doc["title"], "film");
  EXPECT_EQ(doc["project"]["seed"], 42);
}

TEST(StoryboardCli, NewTakesTheSettingsGiven) {
  TempDir dir;
  const std::string file = (dir / "v.json").string();
  const RunResult r = run_cli({"storyboard", "new", file, "--aspect", "9:16", "--resolution",
                               "1080p", "--prompt", "a fox in the snow", "--title", "Fox"});
  ASSERT_EQ(r.exit_code, 0) << details(r);
  const json doc = json::parse(read_file(file));
  EXPECT_EQ(doc["title"], "Fox");
  EXPECT_EQ(doc["project"]["aspect"], "9:16");
  EXPECT_EQ(doc["project"]["resolution"], "1080p");
  EXPECT_EQ(doc["shots"][0]["prompt"], "a fox in the snow");
  EXPECT_TRUE(doc["project"]["seed"].is_number_unsigned());
}

TEST(StoryboardCli, NewPicksADifferentRandomSeedEachTime) {
  TempDir dir;
  ASSERT_EQ(run_cli({"storyboard", "new", (dir / "a.json").string()}).exit_code, 0);
  ASSERT_EQ(run_cli({"storyboard", "new", (dir / "b.json").string()}).exit_code, 0);
  EXPECT_NE(json::parse(read_file(dir / "a.json"))["project"]["seed"],
            json::parse(read_file(dir / "b.json"))["project"]["seed"]);
}

TEST(StoryboardCli, NewRefusesToOverwriteWithoutForce) {
  TempDir dir;
  const std::string file = (dir / "film.json").string();
  ASSERT_EQ(run_cli({"storyboard", "new", file, "--seed", "1"}).exit_code, 0);
  const std::string first = read_file(file);

  RunResult r = run_cli({"storyboard", "new", file, "--seed", "2"});
  EXPECT_EQ(r.exit_code, 2) << details(r);
  EXPECT_TRUE(contains(r.err, "already exists; pass --force to replace it")) << r.err;
  EXPECT_EQ(read_file(file), first);

  r = run_cli({"storyboard", "new", file, "--seed", "2", "--force"});
  EXPECT_EQ(r.exit_code, 0) << details(r);
  EXPECT_EQ(read_file(dir / "film.json.bak"), first);
  EXPECT_TRUE(contains(read_file(file), "\"seed\": 2\n"));
}

TEST(StoryboardCli, NewRejectsBadValues) {
  TempDir dir;
  const std::string file = (dir / "film.json").string();
  RunResult r = run_cli({"storyboard", "new", file, "--aspect", "4:3"});
  EXPECT_EQ(r.exit_code, 2) << details(r);
  EXPECT_TRUE(contains(r.err, "unknown aspect '4:3'")) << r.err;
  r = run_cli({"storyboard", "new", file, "--seed", "-5"});
  EXPECT_EQ(r.exit_code, 2) << details(r);
  r = run_cli({"storyboard", "new", file, "--prompt", std::string(600, 'a')});
  EXPECT_EQ(r.exit_code, 7) << details(r);
  EXPECT_TRUE(contains(r.err, "/shots/0/prompt: about 602 tokens")) << r.err;
  EXPECT_FALSE(fs::exists(file));
}

TEST(StoryboardCli, ValidatePrintsEveryProblemOnItsOwnLine) {
  TempDir dir;
  const fs::path file = dir / "bad.json";
  std::ofstream(file) << R"({"format": "reelforge.storyboard", "version": 1, "title": "",
    "project": {"aspect": "16:9", "resolution": "720p", "fps": 24, "model": "builtin",
                "quality": "draft", "seed": 1},
    "shots": [{"id": "a", "prompt": "", "duration_s": 25},
              {"id": "a", "prompt": "x", "duration_s": 2, "promt": "y"}]})";
  const RunResult r = run_cli({"storyboard", "validate", file.string()});
  EXPECT_EQ(r.exit_code, 7) << details(r);
  EXPECT_EQ(r.out,
            "/shots/0/prompt: empty prompt; describe what the shot shows\n"
            "/shots/0/duration_s: 25 s exceeds the 20 s limit of a storyboard\n"
            "/shots/1/promt: unknown field; did you mean \"prompt\"? (valid here: id, prompt, "
            "negative_prompt, duration_s, transition, keyframe, source_video, continuity, seed)\n"
            "/shots/1/id: duplicate id \"a\"; /shots/0 already uses it\n");
  EXPECT_TRUE(contains(r.err, "bad.json: 4 problems")) << r.err;
}

TEST(StoryboardCli, ValidateReportsUnreadableFiles) {
  TempDir dir;
  RunResult r = run_cli({"storyboard", "validate", (dir / "none.json").string()});
  EXPECT_EQ(r.exit_code, 3) << details(r);
  EXPECT_TRUE(contains(r.err, "no such file")) << r.err;

  std::ofstream(dir / "broken.json")
      << "{\n  \"format\": \"reelforge.storyboard\"\n  \"version\": 1\n}\n";
  r = run_cli({"storyboard", "validate", (dir / "broken.json").string()});
  EXPECT_EQ(r.exit_code, 5) << details(r);
  EXPECT_TRUE(contains(r.err, "malformed JSON at line 3, column 3")) << r.err;

  std::ofstream(dir / "future.json") << R"({"format": "reelforge.storyboard", "version": 9})";
  r = run_cli({"storyboard", "validate", (dir / "future.json").string()});
  EXPECT_EQ(r.exit_code, 6) << details(r);
  EXPECT_TRUE(contains(r.err, "format version 9 is newer than this build")) << r.err;
}

const char* kTwoShots = R"({"format": "reelforge.storyboard", "version": 1, "title": "Harbour",
  "project": {"aspect": "1:1", "resolution": "480p", "fps": 30, "model": "builtin",
              "quality": "final", "seed": 5},
  "shots": [{"id": "dawn", "prompt": "boats at dawn\n\u001b[2Jmist", "negative_prompt": "blur", "duration_s": 5},
            {"id": "noon", "prompt": "a busy quay", "duration_s": 3.5, "seed": 77,
             "transition": {"kind": "crossfade", "duration_s": 0.5},
             "keyframe": {"path": "media/noon.png", "at": "last"}}]})";

TEST(StoryboardCli, ShowPrintsSettingsAndTimeline) {
  TempDir dir;
  std::ofstream(dir / "h.json") << kTwoShots;
  const RunResult r = run_cli({"storyboard", "show", (dir / "h.json").string()});
  // The keyframe file does not exist: shown anyway, and reported after the summary.
  EXPECT_EQ(r.exit_code, 7) << details(r);
  EXPECT_TRUE(contains(r.out, "Harbour\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "1:1 480p (480x480), 30 fps, final quality")) << r.out;
  EXPECT_TRUE(contains(r.out, "length    8 s in 2 shots")) << r.out;
  EXPECT_TRUE(contains(r.out, "1. dawn  0 s - 5 s (5 s)")) << r.out;
  EXPECT_TRUE(contains(r.out, "   negative    blur\n")) << r.out;
  // Control characters from the file are shown escaped, never sent to the terminal.
  EXPECT_TRUE(contains(r.out, "   prompt      boats at dawn\\n\\x1b[2Jmist\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "2. noon  4.5 s - 8 s (3.5 s)")) << r.out;
  EXPECT_TRUE(contains(r.out, "transition  crossfade 0.5 s from shot 1")) << r.out;
  EXPECT_TRUE(contains(r.out, "keyframe    media/noon.png (last frame)")) << r.out;
  EXPECT_TRUE(contains(r.out, "seed        77\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "(derived from the project seed)")) << r.out;
  EXPECT_TRUE(contains(r.out, "/shots/1/keyframe/path: file not found")) << r.out;
}

TEST(StoryboardCli, ShowJsonIsMachineReadable) {
  TempDir dir;
  std::ofstream(dir / "h.json") << kTwoShots;
  const RunResult r = run_cli({"storyboard", "show", (dir / "h.json").string(), "--json"});
  EXPECT_EQ(r.exit_code, 7) << details(r);
  const json out = json::parse(r.out);
  EXPECT_EQ(out["total_duration_s"], 8.0);
  EXPECT_EQ(out["project"]["width_px"], 480);
  EXPECT_EQ(out["shots"][1]["start_s"], 4.5);
  EXPECT_EQ(out["shots"][1]["seed"], 77);
  EXPECT_EQ(out["shots"][0]["seed_is_derived"], true);
  EXPECT_EQ(out["shots"][1]["keyframe"]["resolved_path"], (dir / "media/noon.png").string());
  ASSERT_EQ(out["issues"].size(), 1u);
  EXPECT_EQ(out["issues"][0]["path"], "/shots/1/keyframe/path");
}

TEST(StoryboardCli, ShowOfAValidStoryboardExitsZero) {
  TempDir dir;
  const std::string file = (dir / "s.json").string();
  ASSERT_EQ(run_cli({"storyboard", "new", file, "--seed", "3"}).exit_code, 0);
  const RunResult r = run_cli({"storyboard", "show", file});
  EXPECT_EQ(r.exit_code, 0) << details(r);
  EXPECT_TRUE(contains(r.out, "1. shot-1  0 s - 5 s (5 s)")) << r.out;
}

TEST(StoryboardCli, UnknownActionAndMissingFile) {
  RunResult r = run_cli({"storyboard", "render", "x.json"});
  EXPECT_EQ(r.exit_code, 2) << details(r);
  EXPECT_TRUE(contains(r.err, "valid: new, validate, show")) << r.err;
  r = run_cli({"storyboard", "validate"});
  EXPECT_EQ(r.exit_code, 2) << details(r);
  EXPECT_TRUE(contains(r.err, "missing the storyboard FILE")) << r.err;
}

}  // namespace
}  // namespace reelforge
