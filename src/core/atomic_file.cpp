#include "reelforge/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;

namespace reelforge {
namespace {

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  std::ostringstream s;
  s << ::getpid() << "-" << counter++ << "-" << std::hex << rd();
  return s.str();
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;  // best effort: some filesystems refuse to open directories
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(fs::path final_path, Backup backup)
    : final_path_(std::move(final_path)), backup_(backup) {
  if (final_path_.empty()) throw Error(ErrorCategory::InvalidArgument, "empty output path");
  fs::path dir = final_path_.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorCategory::NotFound, "the output folder does not exist", dir.string());
  }
  if (fs::is_directory(final_path_, ec)) {
    throw Error(ErrorCategory::InvalidArgument, "the output path is a folder", final_path_.string());
  }
  temp_path_ = dir / ("." + final_path_.stem().string() + ".partial-" + unique_suffix() +
                      final_path_.extension().string());
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (committed_) return;
  std::error_code ec;
  fs::remove(temp_path_, ec);
}

void AtomicFile::commit() {
  if (committed_) return;
  std::error_code ec;
  if (!fs::is_regular_file(temp_path_, ec)) {
    throw Error(ErrorCategory::Io, "nothing was written", final_path_.string());
  }
  fsync_path(temp_path_, O_RDONLY);
  if (backup_ == Backup::KeepPrevious && fs::exists(final_path_, ec)) {
    fs::path bak = final_path_;
    bak += ".bak";
    fs::copy_file(final_path_, bak, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      throw Error(ErrorCategory::Io, "cannot keep a backup (" + ec.message() + ")", bak.string());
    }
  }
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const int err = errno;
    discard();
    throw Error(ErrorCategory::Io, std::string("cannot replace the file (") + std::strerror(err) + ")",
                final_path_.string());
  }
  committed_ = true;
  fs::path dir = final_path_.parent_path();
  fsync_path(dir.empty() ? fs::path(".") : dir, O_RDONLY | O_DIRECTORY);
}

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& write,
                       Backup backup) {
  AtomicFile file(path, backup);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Error(ErrorCategory::Io, std::string("cannot create a file (") + std::strerror(errno) + ")",
                  file.temp_path().string());
    }
    write(out);
    out.flush();
    if (!out) throw Error(ErrorCategory::Io, "writing failed (disk full?)", path.string());
  }
  file.commit();
}

void write_file_atomic(const fs::path& path, std::string_view content, Backup backup) {
  write_file_atomic(
      path, [&](std::ostream& out) { out.write(content.data(), std::streamsize(content.size())); },
      backup);
}

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCategory::NotFound, "no such file", path.string());
  if (fs::is_directory(path, ec)) throw Error(ErrorCategory::InvalidArgument, "is a folder, not a file", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::Io, std::string("cannot open (") + std::strerror(errno) + ")", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(ErrorCategory::Io, "reading failed", path.string());
  return s.str();
}

}  // namespace reelforge
