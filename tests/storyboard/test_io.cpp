// Reading and writing storyboard files: canonical output, byte-stable round trips, atomic saves
// with a backup, malformed input, migrations and versions this build cannot read.

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"
#include "support/testing.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace reelforge::storyboard {
namespace {

using nlohmann::json;
using reelforge::testing::TempDir;

// A storyboard that uses every field, with values that are easy to print unstably.
Storyboard rich_storyboard() {
  Storyboard sb;
  sb.title = "Harbour \xe2\x80\x94 a day";  // an em dash: non-ASCII is kept as UTF-8
  sb.project.aspect = media::Aspect::Vertical;
  sb.project.resolution = media::Resolution::P1080;
  sb.project.fps = 29.97;
  sb.project.model = "wan2.1-t2v-1.3b";
  sb.project.seed = UINT64_MAX;
  sb.project.quality = QualityPreset::Final;
  Shot a;
  a.id = "dawn";
  a.prompt = "boats at dawn, \"quoted\" words\nand a second line";
  a.negative_prompt = "blurry";
  a.duration_s = 4.5;
  a.keyframe = Keyframe{"media/dawn.png", KeyframeAt::Last};
  Shot b;
  b.id = "noon";
  b.prompt = "a busy quay at noon";
  b.duration_s = 0.1 + 0.2;  // 0.30000000000000004: must survive exactly
  b.transition = {TransitionKind::Crossfade, 0.25};
  b.source_video = SourceVideo{"/abs/clip.mp4", 0.35};
  b.seed = 7;
  Shot c;
  c.id = "dusk";
  c.prompt = "lanterns";
  c.duration_s = 3;
  sb.shots = {a, b, c};
  return sb;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no reelforge::Error was thrown";
  return Error(ErrorCategory::Internal, "none");
}

TEST(StoryboardIo, CanonicalTextLayout) {
  const std::string text = to_json_text(rich_storyboard());
  EXPECT_EQ(text.rfind("{\n  \"format\": \"reelforge.storyboard\",\n  \"version\": 1,\n"
                       "  \"title\": \"Harbour \xe2\x80\x94 a day\",\n  \"project\": {\n"
                       "    \"aspect\": \"9:16\",\n",
                       0),
            0u)
      << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"duration_s\": 4.5,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"duration_s\": 3,"), std::string::npos) << "whole numbers without .0";
  EXPECT_NE(text.find("\"fps\": 29.97,"), std::string::npos);
  EXPECT_NE(text.find("\"seed\": 18446744073709551615"), std::string::npos);
  EXPECT_NE(text.find("\"transition\": {\n        \"kind\": \"cut\"\n      }"), std::string::npos)
      << text;
  // Optional members appear only when set: the project's seed and shot "noon"'s, no others.
  size_t seeds = 0;
  for (size_t at = text.find("\"seed\":"); at != std::string::npos;
       at = text.find("\"seed\":", at + 1)) {
    ++seeds;
  }
  EXPECT_EQ(seeds, 2u);
  EXPECT_NE(text.find("\"seed\": 7\n"), std::string::npos);
}

TEST(StoryboardIo, SaveLoadSaveIsByteForByteStable) {
  TempDir dir;
  const Storyboard original = rich_storyboard();
  save(original, dir / "a.json");
  const std::string first = read_file(dir / "a.json");

  const Storyboard loaded = check_file(dir / "a.json", test::no_media()).storyboard;
  EXPECT_TRUE(loaded == original);
  save(loaded, dir / "b.json");
  EXPECT_EQ(read_file(dir / "b.json"), first);
  EXPECT_EQ(loaded.shots[1].duration_s, 0.1 + 0.2);
}

TEST(StoryboardIo, HandWrittenFileIsCanonicalAfterOneSave) {
  TempDir dir;
  json doc = test::valid_doc();
  doc["project"]["aspect"] = "wide";    // an alias of 16:9
  doc["shots"][0]["duration_s"] = 5.0;  // written as 5 from now on
  doc["shots"][1].erase("transition");  // optional: a cut
  doc["shots"][1].erase("negative_prompt");
  write_text(dir / "hand.json", doc.dump());
  save(load(dir / "hand.json", test::no_media()), dir / "once.json");
  save(load(dir / "once.json", test::no_media()), dir / "twice.json");
  EXPECT_EQ(read_file(dir / "once.json"), read_file(dir / "twice.json"));
  EXPECT_NE(read_file(dir / "once.json").find("\"aspect\": \"16:9\""), std::string::npos);
}

TEST(StoryboardIo, SecondSaveKeepsThePreviousVersionAsBak) {
  TempDir dir;
  Storyboard sb = rich_storyboard();
  save(sb, dir / "s.json");
  const std::string v1 = read_file(dir / "s.json");
  EXPECT_FALSE(fs::exists(dir / "s.json.bak")) << "nothing to back up on the first save";
  sb.title = "Second cut";
  save(sb, dir / "s.json");
  EXPECT_EQ(read_file(dir / "s.json.bak"), v1);
  EXPECT_EQ(load(dir / "s.json", test::no_media()).title, "Second cut");
}

// A write that fails half-way (the file-size limit is hit, as on a full disk) must leave the
// previous file untouched and no temporary behind.
TEST(StoryboardIo, FailedSaveLeavesThePreviousFileIntact) {
  TempDir dir;
  Storyboard sb = rich_storyboard();
  save(sb, dir / "s.json");
  const std::string before = read_file(dir / "s.json");

  sb.shots[0].prompt = std::string(200000, 'w');  // larger than the limit below
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Error e = expect_error([&] { save(sb, dir / "s.json"); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(e.category(), ErrorCategory::Io) << e.what();
  EXPECT_EQ(read_file(dir / "s.json"), before);
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "s.json" || name == "s.json.bak") << "left behind: " << name;
  }
}

TEST(StoryboardIo, SavingOntoAFolderIsAClearError) {
  TempDir dir;
  fs::create_directory(dir / "scene.json");
  const Error e = expect_error([&] { save(rich_storyboard(), dir / "scene.json"); });
  EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
  EXPECT_NE(std::string(e.what()).find("the output path is a folder"), std::string::npos);
  EXPECT_TRUE(fs::is_directory(dir / "scene.json"));
}

TEST(StoryboardIo, SavingIntoAMissingFolder) {
  TempDir dir;
  const Error e = expect_error([&] { save(rich_storyboard(), dir / "no" / "s.json"); });
  EXPECT_EQ(e.category(), ErrorCategory::NotFound);
}

TEST(StoryboardIo, UnrepresentableValuesAreRefusedBeforeWriting) {
  TempDir dir;
  Storyboard sb = rich_storyboard();
  save(sb, dir / "s.json");
  const std::string before = read_file(dir / "s.json");
  sb.shots[2].prompt = "bad \xc0\xaf byte";  // an overlong '/'
  sb.shots[1].duration_s = std::nan("");
  const Error e = expect_error([&] { save(sb, dir / "s.json"); });
  EXPECT_EQ(e.category(), ErrorCategory::Validation);
  EXPECT_NE(e.message().find("/shots/1/duration_s: not a finite number"), std::string::npos);
  EXPECT_NE(e.message().find("/shots/2/prompt: not valid UTF-8 at byte offset 4"),
            std::string::npos)
      << e.message();
  EXPECT_EQ(read_file(dir / "s.json"), before);
}

TEST(StoryboardIo, MalformedJsonNamesLineAndColumn) {
  const std::string text = "{\n  \"format\": \"reelforge.storyboard\",\n  \"version\": 1,,\n}";
  const Error e = expect_error([&] { check_text(text, "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("malformed JSON at line 3, column 16"), std::string::npos)
      << e.message();
  // A missing comma: the column is where the unexpected token begins, not where it ends.
  const Error missing_comma =
      expect_error([&] { check_text("{\"format\": \"x\"\n   \"version\": 1}", "/"); });
  EXPECT_NE(missing_comma.message().find("malformed JSON at line 2, column 4"), std::string::npos)
      << missing_comma.message();
}

TEST(StoryboardIo, EmptyAndTruncatedInput) {
  for (const std::string text : {"", "   ", "{\"format\": \"reelforge.sto"}) {
    const Error e = expect_error([&] { check_text(text, "/"); });
    EXPECT_EQ(e.category(), ErrorCategory::Format) << text;
    EXPECT_NE(e.message().find("malformed JSON at line 1"), std::string::npos) << e.message();
  }
}

TEST(StoryboardIo, InvalidUtf8InAFileNamesPointerAndByteOffset) {
  std::string text = test::valid_doc().dump(2);
  const size_t at = text.find("a busy quay") + 2;
  text[at] = '\xff';
  const Error e = expect_error([&] { check_text(text, "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("/shots/1/prompt: not valid UTF-8: byte 0xff at byte offset " +
                             std::to_string(at)),
            std::string::npos)
      << e.message();
}

TEST(StoryboardIo, DeepNestingIsRefusedWithoutExhaustingTheStack) {
  const std::string text = std::string(100000, '[') + std::string(100000, ']');
  const Error e = expect_error([&] { check_text(text, "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("nested deeper than 64 levels"), std::string::npos) << e.message();
}

TEST(StoryboardIo, DocumentThatIsNotAStoryboard) {
  Error e = expect_error([&] { check_text("[1, 2]", "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("expected a JSON object, got an array"), std::string::npos);
  e = expect_error([&] { check_text(R"({"format": "reelforge.model", "version": 1})", "/"); });
  EXPECT_NE(
      e.message().find("\"format\" is \"reelforge.model\"; expected \"reelforge.storyboard\""),
      std::string::npos)
      << e.message();
}

TEST(StoryboardIo, NewerVersionIsUnsupported) {
  json doc = test::valid_doc();
  doc["version"] = 2;
  const Error e = expect_error([&] { check_text(doc.dump(), "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
  EXPECT_NE(e.message().find("/version: format version 2 is newer than this build of ReelForge "
                             "understands (up to 1)"),
            std::string::npos)
      << e.message();
}

TEST(StoryboardIo, VersionMustBeAWholeNumber) {
  json doc = test::valid_doc();
  doc["version"] = "1";
  Error e = expect_error([&] { check_text(doc.dump(), "/"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("/version: expected a whole number"), std::string::npos);
  doc.erase("version");
  e = expect_error([&] { check_text(doc.dump(), "/"); });
  EXPECT_NE(e.message().find("/version: missing required field"), std::string::npos);
}

TEST(StoryboardIo, PreReleaseVersionZeroIsMigrated) {
  const fs::path file = reelforge::testing::test_data("storyboard/v0_prerelease.json");
  const CheckedStoryboard checked = check_file(file, test::no_media());
  EXPECT_TRUE(checked.ok()) << test::describe(checked.issues);
  EXPECT_EQ(checked.loaded_version, 0);
  const Storyboard& sb = checked.storyboard;
  EXPECT_EQ(sb.project.aspect, media::Aspect::Square);
  ASSERT_EQ(sb.shots.size(), 2u);
  EXPECT_EQ(sb.shots[0].duration_s, 3.5);
  EXPECT_EQ(sb.shots[1].negative_prompt, "text, watermark");

  TempDir dir;
  save(sb, dir / "upgraded.json");
  const std::string text = read_file(dir / "upgraded.json");
  EXPECT_NE(text.find("\"version\": 1,"), std::string::npos);
  EXPECT_NE(text.find("\"project\": {"), std::string::npos);
  EXPECT_EQ(text.find("\"settings\""), std::string::npos);
}

TEST(StoryboardIo, MigrationRegistryAppliesRegisteredSteps) {
  MigrationRegistry registry;
  int calls = 0;
  registry.add(0, "test: scenes -> shots", [&](json& doc) {
    ++calls;
    doc["shots"] = std::move(doc["scenes"]);
    doc.erase("scenes");
  });
  json doc = test::valid_doc();
  doc["version"] = 0;
  doc["scenes"] = std::move(doc["shots"]);
  doc.erase("shots");
  LoadOptions options = test::no_media();
  options.migrations = &registry;
  const CheckedStoryboard checked = check_text(doc.dump(), "/", options);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(checked.ok()) << test::describe(checked.issues);
  EXPECT_EQ(checked.storyboard.shots.size(), 2u);

  // Without that step the same document is too old to open.
  MigrationRegistry empty;
  options.migrations = &empty;
  const Error e = expect_error([&] { check_text(doc.dump(), "/", options); });
  EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
  EXPECT_NE(e.message().find("format version 0 is too old"), std::string::npos) << e.message();
}

TEST(StoryboardIo, MigrationThatMeetsAMalformedDocumentIsAFormatError) {
  MigrationRegistry registry;
  registry.add(0, "test", [](json& doc) { doc["shots"] = doc.at("scenes").get<std::string>(); });
  LoadOptions options = test::no_media();
  options.migrations = &registry;
  const Error e = expect_error(
      [&] { check_text(R"({"format": "reelforge.storyboard", "version": 0})", "/", options); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("cannot upgrade from version 0"), std::string::npos) << e.message();
}

TEST(StoryboardIo, MigrationStepsAreRegisteredOnce) {
  MigrationRegistry registry;
  registry.add(0, "a", [](json&) {});
  EXPECT_TRUE(registry.has(0));
  EXPECT_EQ(expect_error([&] { registry.add(0, "b", [](json&) {}); }).category(),
            ErrorCategory::InvalidArgument);
  EXPECT_TRUE(MigrationRegistry::builtin().has(0));
}

TEST(StoryboardIo, LoadThrowsValidationErrorNamingTheFile) {
  TempDir dir;
  json doc = test::valid_doc();
  doc["shots"][0]["duration_s"] = 25;
  write_text(dir / "long.json", doc.dump());
  const Error e = expect_error([&] { load(dir / "long.json"); });
  EXPECT_EQ(e.category(), ErrorCategory::Validation);
  EXPECT_EQ(e.context(), (dir / "long.json").string());
  EXPECT_NE(e.message().find("/shots/0/duration_s: 25 s exceeds the 20 s limit of a storyboard"),
            std::string::npos)
      << e.message();
}

// A hostile document (200,000 shots, each broken three ways) costs bounded time and memory: the
// shots past kMaxShots are not read, and the list stops at 1000 problems, saying so.
TEST(StoryboardIo, HugeDocumentWithIssuesEverywhereIsBounded) {
  std::string text = R"({"format": "reelforge.storyboard", "version": 1, "project": {"aspect":
      "16:9", "resolution": "720p", "fps": 24, "model": "builtin", "quality": "draft",
      "seed": 1}, "shots": [)";
  const size_t n = 200000;
  for (size_t i = 0; i < n; ++i) text += i ? R"(,{"id":1})" : R"({"id":1})";
  text += "]}";
  const auto start = std::chrono::steady_clock::now();
  const CheckedStoryboard checked = check_text(text, "/", test::no_media());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  ASSERT_EQ(checked.issues.size(), 1001u);
  EXPECT_EQ(checked.issues.front().path, "/shots");
  EXPECT_NE(checked.issues.front().message.find("200000 shots is more than a storyboard can hold "
                                                "(2400)"),
            std::string::npos)
      << checked.issues.front().message;
  EXPECT_TRUE(test::has_issue(checked.issues, "/shots/0/id", "expected a string, got a number"));
  EXPECT_TRUE(test::has_issue(checked.issues, "", "only the first 1000 are listed"));
  EXPECT_LE(checked.storyboard.shots.size(), kMaxShots);
  const Error e = expect_error([&] { throw_if_issues(checked.issues); });
  EXPECT_LT(e.message().size(), 20000u);
}

TEST(StoryboardIo, MissingFolderAndSpecialFiles) {
  TempDir dir;
  EXPECT_EQ(expect_error([&] { load(dir / "none.json"); }).category(), ErrorCategory::NotFound);
  EXPECT_EQ(expect_error([&] { load(dir.path()); }).category(), ErrorCategory::Format);
  ASSERT_EQ(::mkfifo((dir / "pipe.json").c_str(), 0600), 0);
  // Reading a FIFO would block forever; it is refused before opening.
  const Error e = expect_error([&] { load(dir / "pipe.json"); });
  EXPECT_NE(e.message().find("not a regular file"), std::string::npos);
}

TEST(StoryboardIo, OversizedFileIsRefusedBeforeReading) {
  TempDir dir;
  {
    std::ofstream out(dir / "big.json", std::ios::binary);
    out.seekp(std::streamoff(kMaxFileBytes + 1));
    out.put(' ');
  }
  const Error e = expect_error([&] { load(dir / "big.json"); });
  EXPECT_EQ(e.category(), ErrorCategory::Format);
  EXPECT_NE(e.message().find("too large for a storyboard"), std::string::npos);
}

}  // namespace
}  // namespace reelforge::storyboard
