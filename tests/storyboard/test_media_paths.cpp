// Media referenced by a storyboard, on real files: relative paths start at the document's folder,
// a keyframe must load as an image and a source video must probe as a video.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "reelforge/storyboard/io.hpp"
#include "support/testing.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace reelforge::storyboard {
namespace {

using nlohmann::json;
using reelforge::testing::TempDir;
using test::has_issue;
using test::only_issue;

// project/
//   film.json           the storyboard under test
//   media/key.png       a real PNG
//   media/clip.mp4      a real one-second H.264 clip
//   media/fake.png      text under an image's name
//   media/fake.mp4      text under a video's name
class StoryboardMedia : public ::testing::Test {
 protected:
  void SetUp() override {
    project_ = dir_.path() / "project";
    fs::create_directories(project_ / "media");
    cv::Mat image(90, 160, CV_8UC3, cv::Scalar(30, 120, 200));
    ASSERT_TRUE(cv::imwrite((project_ / "media" / "key.png").string(), image));
    ASSERT_TRUE(reelforge::testing::run_ffmpeg(
        {"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=1", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", (project_ / "media" / "clip.mp4").string()}));
    std::ofstream(project_ / "media" / "fake.png") << "not an image\n";
    std::ofstream(project_ / "media" / "fake.mp4") << "not a video\n";
  }

  // Writes `doc` as the project's storyboard and checks it from a different working folder, so
  // that resolving against the current folder instead of the document's would fail.
  std::vector<Issue> check(const json& doc, MediaChecks media = MediaChecks::Full) {
    std::ofstream(project_ / "film.json") << doc.dump(2);
    const fs::path old_cwd = fs::current_path();
    fs::current_path(dir_.path());
    LoadOptions options;
    options.validation.media = media;
    std::vector<Issue> issues;
    try {
      issues = check_file(fs::path("project") / "film.json", options).issues;
    } catch (...) {
      fs::current_path(old_cwd);
      throw;
    }
    fs::current_path(old_cwd);
    return issues;
  }

  static json with_media(const std::string& keyframe, const std::string& source) {
    json doc = test::valid_doc();
    if (!keyframe.empty()) doc["shots"][0]["keyframe"] = {{"path", keyframe}, {"at", "first"}};
    if (!source.empty()) doc["shots"][1]["source_video"] = {{"path", source}, {"strength", 0.6}};
    return doc;
  }

  TempDir dir_;
  fs::path project_;
};

TEST_F(StoryboardMedia, RelativePathsResolveAgainstTheDocumentFolder) {
  const auto issues = check(with_media("media/key.png", "media/clip.mp4"));
  EXPECT_TRUE(issues.empty()) << test::describe(issues);
}

TEST_F(StoryboardMedia, AbsolutePathsAreAllowed) {
  const auto issues = check(with_media(fs::absolute(project_ / "media/key.png").string(),
                                       fs::absolute(project_ / "media/clip.mp4").string()));
  EXPECT_TRUE(issues.empty()) << test::describe(issues);
}

TEST_F(StoryboardMedia, MissingKeyframeNamesTheResolvedPath) {
  const auto issues = check(with_media("media/missing.png", ""));
  const std::string resolved = (fs::path("project") / "media" / "missing.png").string();
  EXPECT_TRUE(only_issue(issues, "/shots/0/keyframe/path",
                         "file not found: " + resolved +
                             " (relative paths start at the "
                             "storyboard's folder)"));
}

TEST_F(StoryboardMedia, MissingSourceVideo) {
  EXPECT_TRUE(only_issue(check(with_media("", "/nonexistent/clip.mp4")),
                         "/shots/1/source_video/path", "file not found: /nonexistent/clip.mp4"));
}

TEST_F(StoryboardMedia, KeyframeThatIsNotAnImage) {
  EXPECT_TRUE(only_issue(check(with_media("media/fake.png", "")), "/shots/0/keyframe/path",
                         "cannot be read as an image"));
}

TEST_F(StoryboardMedia, SourceVideoThatIsNotAVideo) {
  EXPECT_TRUE(only_issue(check(with_media("", "media/fake.mp4")), "/shots/1/source_video/path",
                         "cannot be read as a video"));
}

TEST_F(StoryboardMedia, StillImageGivenAsSourceVideo) {
  EXPECT_TRUE(only_issue(check(with_media("", "media/key.png")), "/shots/1/source_video/path",
                         "a still image, not a video"));
}

TEST_F(StoryboardMedia, FolderGivenAsMedia) {
  EXPECT_TRUE(
      only_issue(check(with_media("media", "")), "/shots/0/keyframe/path", "a folder, not a file"));
}

TEST_F(StoryboardMedia, EveryShotUsingABadFileIsReported) {
  json doc = with_media("media/fake.png", "");
  doc["shots"][1]["keyframe"] = {{"path", "./media/fake.png"}, {"at", "last"}};
  const auto issues = check(doc);
  EXPECT_EQ(issues.size(), 2u) << test::describe(issues);
  EXPECT_TRUE(has_issue(issues, "/shots/0/keyframe/path", "cannot be read as an image"));
  EXPECT_TRUE(has_issue(issues, "/shots/1/keyframe/path", "cannot be read as an image"));
}

TEST_F(StoryboardMedia, ExistenceChecksDoNotDecode) {
  EXPECT_TRUE(
      check(with_media("media/fake.png", "media/fake.mp4"), MediaChecks::Existence).empty());
  EXPECT_TRUE(only_issue(check(with_media("media/missing.png", ""), MediaChecks::Existence),
                         "/shots/0/keyframe/path", "file not found"));
}

TEST_F(StoryboardMedia, NoMediaChecksLeavesTheDiskAlone) {
  EXPECT_TRUE(check(with_media("media/missing.png", "missing.mp4"), MediaChecks::None).empty());
}

}  // namespace
}  // namespace reelforge::storyboard
