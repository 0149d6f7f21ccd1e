// Every rule of the storyboard format, broken one at a time on an otherwise valid document: the
// problem must be reported once, at the JSON Pointer of the offending value, with its reason.

#include <string>

#include <gtest/gtest.h>

#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"
#include "reelforge/storyboard/validation.hpp"
#include "test_util.hpp"

namespace reelforge::storyboard {
namespace {

using nlohmann::json;
using test::has_issue;
using test::issues_of;
using test::only_issue;
using test::valid_doc;

TEST(StoryboardValidation, ValidDocumentHasNoIssues) {
  const auto issues = issues_of(valid_doc());
  EXPECT_TRUE(issues.empty()) << test::describe(issues);
}

TEST(StoryboardValidation, UnknownFieldIsNamedWithClosestKnownField) {
  json doc = valid_doc();
  doc["shots"][0]["negative_promt"] = "noise";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/negative_promt",
                         "unknown field; did you mean \"negative_prompt\"?"));
}

TEST(StoryboardValidation, UnknownFieldWithoutNearMatchListsValidFields) {
  json doc = valid_doc();
  doc["project"]["colour_grade"] = "teal";
  const auto issues = issues_of(doc);
  ASSERT_TRUE(only_issue(issues, "/project/colour_grade", "unknown field"));
  EXPECT_EQ(issues[0].message.find("did you mean"), std::string::npos) << issues[0].message;
  EXPECT_NE(issues[0].message.find("valid here: aspect, resolution, fps"), std::string::npos);
}

TEST(StoryboardValidation, UnknownFieldNameIsEscapedInThePointer) {
  json doc = valid_doc();
  doc["a/b~c"] = 1;
  EXPECT_TRUE(only_issue(issues_of(doc), "/a~1b~0c", "unknown field"));
}

TEST(StoryboardValidation, WrongTypeNamesExpectedAndFoundTypes) {
  json doc = valid_doc();
  doc["shots"][1]["duration_s"] = "4.5";
  // Reported once: no echo such as "not a finite number" or a crossfade complaint.
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/duration_s", "expected a number, got a string"));
}

TEST(StoryboardValidation, MissingRequiredFieldIsNamed) {
  json doc = valid_doc();
  doc["shots"][0].erase("prompt");
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/prompt", "missing required field"));
}

TEST(StoryboardValidation, ShotThatIsNotAnObject) {
  json doc = valid_doc();
  doc["shots"][1] = "noon";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1", "expected an object, got a string"));
}

TEST(StoryboardValidation, SingleShotOverTheLimit) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 25;
  // The total is over too, but the shot is the cause: one issue, pointing at it.
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/duration_s",
                         "25 s exceeds the 20 s limit of a storyboard"));
}

TEST(StoryboardValidation, TotalDurationOverTheLimit) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 12;
  doc["shots"][1]["duration_s"] = 9;  // 12 + 9 - 0.5 crossfade = 20.5 s
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots",
                         "the total duration 20.5 s exceeds the 20 s limit of a storyboard"));
}

TEST(StoryboardValidation, TotalOfExactlyTwentySecondsIsAllowed) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 10.1;
  doc["shots"][1]["duration_s"] = 10.4;  // 10.1 + 10.4 - 0.5: 20 s give or take rounding
  const auto issues = issues_of(doc);
  EXPECT_TRUE(issues.empty()) << test::describe(issues);
}

TEST(StoryboardValidation, ZeroDuration) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 0;
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/duration_s",
                         "the duration must be more than 0 s; got 0 s"));
}

TEST(StoryboardValidation, NegativeDuration) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = -2;
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/duration_s", "got -2 s"));
}

TEST(StoryboardValidation, DurationShorterThanOneFrame) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 0.01;
  doc["shots"][1]["transition"] = {{"kind", "cut"}};  // else the crossfade is too long as well
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/duration_s",
                         "0.01 s is shorter than one frame at 24 fps"));
}

TEST(StoryboardValidation, EmptyPrompt) {
  json doc = valid_doc();
  doc["shots"][1]["prompt"] = "  \n ";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/prompt", "empty prompt"));
}

TEST(StoryboardValidation, PromptOverTheTokenLimit) {
  json doc = valid_doc();
  doc["shots"][0]["prompt"] = std::string(600, 'a');
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/prompt",
                         "about 602 tokens, over the model's limit of 512"));
}

TEST(StoryboardValidation, PromptAtTheTokenLimitIsAllowed) {
  json doc = valid_doc();
  doc["shots"][0]["prompt"] = std::string(510, 'a');  // 510 + 2 = 512
  EXPECT_TRUE(issues_of(doc).empty());
}

TEST(StoryboardValidation, TokenLimitCountsCodePointsNotBytes) {
  json doc = valid_doc();
  std::string prompt;
  for (int i = 0; i < 500; ++i) prompt += "\xe6\xb5\xb7";  // 500 x U+6D77, 1500 bytes
  doc["shots"][0]["prompt"] = prompt;
  EXPECT_TRUE(issues_of(doc).empty());
}

TEST(StoryboardValidation, TokenCounterAndLimitComeFromTheOptions) {
  json doc = valid_doc();
  doc["shots"][0]["prompt"] = "one two three four";
  LoadOptions options = test::no_media();
  options.validation.max_prompt_tokens = 3;
  options.validation.count_tokens = [](std::string_view text) {
    size_t words = 1;
    for (char c : text) words += c == ' ';
    return words;
  };
  const auto issues = issues_of(doc, options);
  EXPECT_TRUE(has_issue(issues, "/shots/0/prompt", "about 4 tokens, over the model's limit of 3"))
      << test::describe(issues);
}

TEST(StoryboardValidation, NegativePromptOverTheTokenLimit) {
  json doc = valid_doc();
  doc["shots"][0]["negative_prompt"] = std::string(1000, 'x');
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/negative_prompt", "over the model's limit"));
}

TEST(StoryboardValidation, PromptThatIsNotUtf8NamesTheByteOffset) {
  Storyboard sb = parse(valid_doc().dump(), "/nonexistent", test::no_media());
  sb.shots[1].prompt = "quay \xff at noon";
  const auto issues = validate(sb, "/nonexistent", {128, {}, MediaChecks::None});
  EXPECT_TRUE(only_issue(issues, "/shots/1/prompt", "not valid UTF-8: byte 0xff at byte offset 5"));
}

TEST(StoryboardValidation, TruncatedUtf8SequenceIsReported) {
  Storyboard sb = parse(valid_doc().dump(), "/nonexistent", test::no_media());
  sb.shots[0].negative_prompt = "ok \xe6\xb5";  // the last character lost its final byte
  const auto issues = validate(sb, "/nonexistent", {512, {}, MediaChecks::None});
  EXPECT_TRUE(only_issue(issues, "/shots/0/negative_prompt", "byte 0xe6 at byte offset 3"));
}

TEST(StoryboardValidation, DuplicateShotIds) {
  json doc = valid_doc();
  doc["shots"][1]["id"] = "dawn";
  EXPECT_TRUE(
      only_issue(issues_of(doc), "/shots/1/id", "duplicate id \"dawn\"; /shots/0 already uses it"));
}

TEST(StoryboardValidation, IdWithCharactersUnsafeInFileNames) {
  json doc = valid_doc();
  doc["shots"][0]["id"] = "../dawn";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/id",
                         "may contain only letters, digits, '.', '_' and '-'"));
}

TEST(StoryboardValidation, EmptyId) {
  json doc = valid_doc();
  doc["shots"][1]["id"] = "";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/id", "empty id"));
}

TEST(StoryboardValidation, EmptyShotList) {
  json doc = valid_doc();
  doc["shots"] = json::array();
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots", "the storyboard has no shots"));
}

TEST(StoryboardValidation, ShotsThatAreNotAnArray) {
  json doc = valid_doc();
  doc["shots"] = json::object();
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots", "expected an array of shots, got an object"));
}

TEST(StoryboardValidation, FirstShotMustStartWithACut) {
  json doc = valid_doc();
  doc["shots"][0]["transition"] = {{"kind", "crossfade"}, {"duration_s", 1}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/transition/kind",
                         "the first shot can only start with a cut"));
}

TEST(StoryboardValidation, CrossfadeNeedsAPositiveDuration) {
  json doc = valid_doc();
  doc["shots"][1]["transition"]["duration_s"] = 0;
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/transition/duration_s",
                         "a crossfade must last more than 0 s"));
}

TEST(StoryboardValidation, CrossfadeWithoutDuration) {
  json doc = valid_doc();
  doc["shots"][1]["transition"].erase("duration_s");
  EXPECT_TRUE(
      only_issue(issues_of(doc), "/shots/1/transition/duration_s", "missing required field"));
}

TEST(StoryboardValidation, CrossfadeLongerThanThePreviousShot) {
  json doc = valid_doc();
  doc["shots"][0]["duration_s"] = 2;
  doc["shots"][1]["transition"]["duration_s"] = 2;
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/transition/duration_s",
                         "a 2 s crossfade must be shorter than the previous shot /shots/0 (2 s)"));
}

TEST(StoryboardValidation, CrossfadeLongerThanItsOwnShot) {
  json doc = valid_doc();
  doc["shots"][1]["duration_s"] = 1;
  doc["shots"][1]["transition"]["duration_s"] = 1.5;
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/transition/duration_s",
                         "must be shorter than this shot (1 s)"));
}

TEST(StoryboardValidation, CrossfadesIntoAndOutOfAShotMustNotOverlap) {
  json doc = valid_doc();
  doc["shots"][1]["duration_s"] = 2;
  doc["shots"][1]["transition"]["duration_s"] = 1.5;
  doc["shots"].push_back({{"id", "dusk"},
                          {"prompt", "lanterns at dusk"},
                          {"duration_s", 3},
                          {"transition", {{"kind", "crossfade"}, {"duration_s", 1}}}});
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/2/transition/duration_s",
                         "crossfades into and out of /shots/1 (1.5 s + 1 s) overlap"));
}

TEST(StoryboardValidation, CutWithADuration) {
  json doc = valid_doc();
  doc["shots"][0]["transition"]["duration_s"] = 1;
  EXPECT_TRUE(
      only_issue(issues_of(doc), "/shots/0/transition/duration_s", "a cut has no duration"));
}

TEST(StoryboardValidation, UnknownTransitionKind) {
  json doc = valid_doc();
  doc["shots"][1]["transition"]["kind"] = "wipe";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/transition/kind", "valid: cut, crossfade"));
}

TEST(StoryboardValidation, FpsOutOfRange) {
  json doc = valid_doc();
  doc["project"]["fps"] = 120;
  EXPECT_TRUE(
      only_issue(issues_of(doc), "/project/fps", "fps 120 is out of range; valid: 8 to 60"));
}

TEST(StoryboardValidation, UnknownAspectAndResolution) {
  json doc = valid_doc();
  doc["project"]["aspect"] = "4:3";
  doc["project"]["resolution"] = "4k";
  const auto issues = issues_of(doc);
  EXPECT_EQ(issues.size(), 2u) << test::describe(issues);
  EXPECT_TRUE(has_issue(issues, "/project/aspect", "unknown aspect '4:3'"));
  EXPECT_TRUE(has_issue(issues, "/project/resolution", "valid: 480p, 720p, 1080p"));
}

TEST(StoryboardValidation, UnknownQualityPreset) {
  json doc = valid_doc();
  doc["project"]["quality"] = "best";
  EXPECT_TRUE(only_issue(issues_of(doc), "/project/quality", "valid: draft, final"));
}

TEST(StoryboardValidation, BadModelName) {
  json doc = valid_doc();
  doc["project"]["model"] = "wan 2.1";
  EXPECT_TRUE(only_issue(issues_of(doc), "/project/model", "may contain only letters"));
}

TEST(StoryboardValidation, SeedMustBeAWholeNonNegativeNumber) {
  json doc = valid_doc();
  doc["project"]["seed"] = -1;
  doc["shots"][0]["seed"] = 1.5;
  const auto issues = issues_of(doc);
  EXPECT_EQ(issues.size(), 2u) << test::describe(issues);
  EXPECT_TRUE(has_issue(issues, "/project/seed", "expected a whole number from 0 to"));
  EXPECT_TRUE(has_issue(issues, "/shots/0/seed", "got 1.5"));
}

TEST(StoryboardValidation, LargestSeedIsAccepted) {
  json doc = valid_doc();
  doc["project"]["seed"] = UINT64_MAX;
  const Storyboard sb = parse(doc.dump(), "/nonexistent", test::no_media());
  EXPECT_EQ(sb.project.seed, UINT64_MAX);
}

TEST(StoryboardValidation, KeyframePositionMustBeFirstOrLast) {
  json doc = valid_doc();
  doc["shots"][0]["keyframe"] = {{"path", "a.png"}, {"at", "middle"}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/keyframe/at", "valid: first, last"));
}

TEST(StoryboardValidation, KeyframeThatIsNotAnObject) {
  json doc = valid_doc();
  doc["shots"][0]["keyframe"] = "a.png";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/keyframe", "expected an object, got a string"));
}

TEST(StoryboardValidation, SourceVideoStrengthOutOfRange) {
  json doc = valid_doc();
  doc["shots"][1]["source_video"] = {{"path", "clip.mp4"}, {"strength", 1.5}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/source_video/strength",
                         "strength 1.5 is out of range; valid: 0"));
}

TEST(StoryboardValidation, EmptyMediaPath) {
  json doc = valid_doc();
  doc["shots"][1]["source_video"] = {{"path", ""}, {"strength", 0.5}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/source_video/path", "empty path"));
}

TEST(StoryboardValidation, MediaPathWithANulCharacter) {
  json doc = valid_doc();
  doc["shots"][0]["keyframe"] = {{"path", std::string("a.png\0.txt", 10)}, {"at", "first"}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/keyframe/path", "NUL character"));
}

TEST(StoryboardValidation, TitleOnOneLine) {
  json doc = valid_doc();
  doc["title"] = "Harbour\nat dawn";
  EXPECT_TRUE(only_issue(issues_of(doc), "/title", "one line"));
}

TEST(StoryboardValidation, DuplicateJsonKey) {
  std::string text = valid_doc().dump();
  text.replace(text.find("\"duration_s\":5"), 14, "\"duration_s\":5,\"duration_s\":6");
  const auto issues = check_text(text, "/nonexistent", test::no_media()).issues;
  EXPECT_TRUE(only_issue(issues, "/shots/0/duration_s", "duplicate key"));
}

TEST(StoryboardValidation, EveryProblemIsCollectedInDocumentOrder) {
  json doc = valid_doc();
  doc["shots"][1]["id"] = "dawn";
  doc["shots"][1]["duration_s"] = -1;
  doc["shots"][0]["prompt"] = "";
  doc["project"]["fps"] = 2;
  doc["extra"] = true;
  const auto issues = issues_of(doc);
  ASSERT_EQ(issues.size(), 5u) << test::describe(issues);
  EXPECT_EQ(issues[0].path, "/extra");
  EXPECT_EQ(issues[1].path, "/project/fps");
  EXPECT_EQ(issues[2].path, "/shots/0/prompt");
  EXPECT_EQ(issues[3].path, "/shots/1/id");
  EXPECT_EQ(issues[4].path, "/shots/1/duration_s");

  // parse() throws one Error(Validation) listing all of them, one per line.
  try {
    parse(doc.dump(), "/nonexistent", test::no_media());
    FAIL() << "parse() accepted an invalid storyboard";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation);
    const std::string m = e.message();
    EXPECT_NE(m.find("5 problems in the storyboard:"), std::string::npos) << m;
    for (const Issue& issue : issues) {
      EXPECT_NE(m.find("\n  " + to_string(issue)), std::string::npos) << m;
    }
  }
}

TEST(StoryboardValidation, LongIssueListsAreCappedInTheMessage) {
  std::vector<Issue> issues(150, Issue{"/shots", "x"});
  try {
    throw_if_issues(issues, "file.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.context(), "file.json");
    EXPECT_NE(e.message().find("... and 50 more"), std::string::npos);
  }
  EXPECT_NO_THROW(throw_if_issues({}));
}

TEST(StoryboardValidation, ContinuityContinueRoundTripsAndIsValidAfterACut) {
  json doc = valid_doc();
  doc["shots"][1]["transition"] = {{"kind", "cut"}};
  doc["shots"][1]["continuity"] = "continue";
  EXPECT_TRUE(issues_of(doc).empty()) << test::describe(issues_of(doc));
  const Storyboard sb = parse(doc.dump(), "/nonexistent", test::no_media());
  EXPECT_EQ(sb.shots[1].continuity, Continuity::Continue);
  EXPECT_EQ(sb.shots[0].continuity, Continuity::Cut);
  const json written = json::parse(to_json_text(sb));
  EXPECT_EQ(written["shots"][1]["continuity"], "continue");
  EXPECT_FALSE(written["shots"][0].contains("continuity"));  // the default is not written
}

TEST(StoryboardValidation, ContinuityConflictsAreNamed) {
  json doc = valid_doc();
  doc["shots"][0]["continuity"] = "continue";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/0/continuity", "first shot"));

  doc = valid_doc();
  doc["shots"][1]["continuity"] = "continue";  // shot 1 crossfades in
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/continuity", "cannot crossfade"));

  doc = valid_doc();
  doc["shots"][1]["transition"] = {{"kind", "cut"}};
  doc["shots"][1]["continuity"] = "continue";
  doc["shots"][1]["keyframe"] = {{"path", "k.png"}, {"at", "first"}};
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/continuity", "keyframe"));
  doc["shots"][1]["keyframe"]["at"] = "last";
  EXPECT_TRUE(issues_of(doc).empty()) << test::describe(issues_of(doc));

  doc["shots"][1]["continuity"] = "onward";
  EXPECT_TRUE(only_issue(issues_of(doc), "/shots/1/continuity", "valid: cut, continue"));
}

}  // namespace
}  // namespace reelforge::storyboard

