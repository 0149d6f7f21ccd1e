// Importing model folders and the front end's extra model folders (models/registry.hpp), on tiny
// random-weight models written in the real layout.

#include <gtest/gtest.h>

#include <fstream>

#include "reelforge/core/error.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::testing::ScopedEnv;
using reelforge::testing::TempDir;
using namespace reelforge::models;

namespace {

// A scratch user data folder and an empty $REELFORGE_MODELS, so only the test's models are seen.
class ModelImport : public ::testing::Test {
 protected:
  ModelImport()
      : data_env_("REELFORGE_DATA", (dir_ / "data").string()),
        models_env_("REELFORGE_MODELS", "") {}
  ~ModelImport() override { set_extra_model_folders({}); }

  ModelManifest writeModel(const fs::path& dir, const std::string& name) {
    RandomModelSpec spec = RandomModelSpec::tiny();
    spec.name = name;
    return write_random_model(dir, spec);
  }

  TempDir dir_;
  ScopedEnv data_env_;
  ScopedEnv models_env_;
};

bool listed(const std::string& name) {
  for (const InstalledModel& m : list_models()) {
    if (m.problem.empty() && m.manifest.name == name) return true;
  }
  return false;
}

}  // namespace

TEST_F(ModelImport, CopiesACompleteModelIntoTheModelsFolder) {
  writeModel(dir_ / "download" / "tiny-a", "tiny-a");
  EXPECT_FALSE(listed("tiny-a"));
  const ModelManifest imported = import_model(dir_ / "download" / "tiny-a");
  EXPECT_EQ(imported.name, "tiny-a");
  EXPECT_EQ(imported.dir, user_models_dir() / "tiny-a");
  EXPECT_TRUE(imported.missing_files().empty());
  EXPECT_TRUE(listed("tiny-a"));
  EXPECT_EQ(find_model("tiny-a").dir, user_models_dir() / "tiny-a");
  EXPECT_EQ(fs::file_size(imported.dir / kDiTWeightsFile),
            fs::file_size(dir_ / "download" / "tiny-a" / kDiTWeightsFile));
  EXPECT_FALSE(fs::exists(user_models_dir() / ".tiny-a.importing"));

  // The same name again is refused, and the installed copy is untouched.
  try {
    import_model(dir_ / "download" / "tiny-a");
    FAIL() << "a second import of the same name was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.message()).find("already installed"), std::string::npos) << e.what();
  }
}

TEST_F(ModelImport, RefusesAFolderWithMissingPiecesAndCopiesNothing) {
  writeModel(dir_ / "download" / "broken", "broken");
  fs::remove(dir_ / "download" / "broken" / kVAEWeightsFile);
  try {
    import_model(dir_ / "download" / "broken", dir_ / "models");
    FAIL() << "an incomplete model was imported";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation);
    EXPECT_NE(std::string(e.message()).find(kVAEWeightsFile), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "models" / "broken"));
  EXPECT_FALSE(fs::exists(dir_ / "models" / ".broken.importing"));

  // A folder without a model.json at all.
  fs::create_directories(dir_ / "empty");
  EXPECT_THROW(import_model(dir_ / "empty", dir_ / "models"), Error);
}

TEST_F(ModelImport, CancelledImportLeavesNothing) {
  writeModel(dir_ / "download" / "tiny-c", "tiny-c");
  reelforge::CancellationToken cancel;
  cancel.cancel();
  try {
    import_model(dir_ / "download" / "tiny-c", dir_ / "models", cancel);
    FAIL() << "a cancelled import finished";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
  }
  EXPECT_TRUE(!fs::exists(dir_ / "models") || fs::is_empty(dir_ / "models"));
}

TEST_F(ModelImport, ExtraFoldersJoinTheSearchPath) {
  writeModel(dir_ / "mine" / "tiny-x", "tiny-x");
  EXPECT_FALSE(listed("tiny-x"));
  set_extra_model_folders({dir_ / "mine"});
  ASSERT_EQ(extra_model_folders().size(), 1u);
  EXPECT_TRUE(listed("tiny-x"));
  EXPECT_EQ(find_model("tiny-x").dir, dir_ / "mine" / "tiny-x");
  const std::vector<fs::path> path = model_search_path();
  ASSERT_GE(path.size(), 2u);
  EXPECT_EQ(path[0], dir_ / "mine");  // before the user data folder's models/
  set_extra_model_folders({});
  EXPECT_FALSE(listed("tiny-x"));
}
