#pragma once
// Where ReelForge finds its own files (assets, built-in models), the user's data and the shared
// test fixtures. Every location can be overridden by an environment variable.

#include <filesystem>
#include <optional>

namespace reelforge {

// The running executable (from /proc/self/exe).
std::filesystem::path executable_path();

// The folder holding assets/ and models/: $REELFORGE_HOME, else the first ancestor of the
// executable that has both (a build tree inside the source tree), else the install's data folder.
std::filesystem::path resource_root();

// $REELFORGE_DATA, else $XDG_DATA_HOME/reelforge, else ~/.local/share/reelforge. Not created here.
std::filesystem::path user_data_dir();

// The golden fixtures: $REELFORGE_FIXTURES, else ../shared/fixtures beside the source tree;
// nullopt when neither exists.
std::optional<std::filesystem::path> fixtures_dir();

}  // namespace reelforge
