#pragma once
// Writing files so that nothing is lost: the content goes to a temporary file in the destination's
// folder and only a complete, flushed file is renamed onto the final name. A failure or an
// exception at any point leaves the previous file (if any) untouched and no temporary behind.

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace reelforge {

enum class Backup {
  None,          // the previous file is replaced
  KeepPrevious,  // the previous file is kept as "<name>.bak"
};

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path final_path, Backup backup = Backup::None);
  ~AtomicFile();  // removes the temporary unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where to write: a hidden file beside the final one, so the rename never crosses filesystems.
  // Its extension is the final one, so tools that pick a format by name (FFmpeg) still work.
  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }

  // Flushes the temporary to disk and renames it onto the final name.
  void commit();
  // Removes the temporary now (also done by the destructor).
  void discard() noexcept;
  bool committed() const { return committed_; }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  Backup backup_;
  bool committed_ = false;
};

// Writes `content` atomically. Throws Error(Io) naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       Backup backup = Backup::None);
// Streams content through `write` into a temporary, committed only when `write` returns normally.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write,
                       Backup backup = Backup::None);

// Reads a whole file; Error(NotFound) or Error(Io) naming the path on failure.
std::string read_file(const std::filesystem::path& path);

}  // namespace reelforge
