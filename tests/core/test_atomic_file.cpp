#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Backup;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::testing::TempDir;

namespace {

int count_entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST(AtomicFile, WritesAndReadsBack) {
  TempDir dir;
  reelforge::write_file_atomic(dir / "a.txt", "hello");
  EXPECT_EQ(reelforge::read_file(dir / "a.txt"), "hello");
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(AtomicFile, FailureMidwayKeepsThePreviousFileAndLeavesNoTemporary) {
  TempDir dir;
  reelforge::write_file_atomic(dir / "doc.json", "version 1");
  EXPECT_THROW(reelforge::write_file_atomic(dir / "doc.json",
                                            [](std::ostream& out) {
                                              out << "half of version 2";
                                              throw std::runtime_error("simulated crash");
                                            }),
               std::runtime_error);
  EXPECT_EQ(reelforge::read_file(dir / "doc.json"), "version 1");
  EXPECT_EQ(count_entries(dir.path()), 1) << "a temporary file was left behind";
}

TEST(AtomicFile, UncommittedFileNeverAppears) {
  TempDir dir;
  fs::path temp;
  {
    reelforge::AtomicFile file(dir / "clip.mp4");
    temp = file.temp_path();
    EXPECT_EQ(temp.extension(), ".mp4") << "muxers pick the format from the extension";
    EXPECT_EQ(temp.parent_path(), dir.path());
    std::ofstream(temp) << "partial";
    EXPECT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(dir / "clip.mp4"));
}

TEST(AtomicFile, KeepsBackupOfThePreviousVersion) {
  TempDir dir;
  reelforge::write_file_atomic(dir / "s.json", "one", Backup::KeepPrevious);
  EXPECT_FALSE(fs::exists(dir / "s.json.bak")) << "no previous version, no backup";
  reelforge::write_file_atomic(dir / "s.json", "two", Backup::KeepPrevious);
  EXPECT_EQ(reelforge::read_file(dir / "s.json"), "two");
  EXPECT_EQ(reelforge::read_file(dir / "s.json.bak"), "one");
  reelforge::write_file_atomic(dir / "s.json", "three", Backup::KeepPrevious);
  EXPECT_EQ(reelforge::read_file(dir / "s.json.bak"), "two");
}

TEST(AtomicFile, RenameOntoAFolderFailsCleanly) {
  TempDir dir;
  fs::create_directory(dir / "taken");
  try {
    reelforge::write_file_atomic(dir / "taken", "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("folder"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(AtomicFile, MissingFolderIsNamed) {
  TempDir dir;
  try {
    reelforge::write_file_atomic(dir / "nope" / "x.json", "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(e.context().find("nope"), std::string::npos);
  }
}

TEST(ReadFile, MissingAndFolder) {
  TempDir dir;
  try {
    reelforge::read_file(dir / "missing.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos);
  }
  EXPECT_THROW(reelforge::read_file(dir.path()), Error);
  std::ofstream(dir / "empty.txt").close();
  EXPECT_EQ(reelforge::read_file(dir / "empty.txt"), "");
}
