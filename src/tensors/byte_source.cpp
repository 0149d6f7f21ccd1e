#include "tensors/byte_source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reelforge/core/error.hpp"

namespace reelforge::tensors::detail {
namespace {

class MappedFile final : public ByteSource {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    label_ = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      throw Error(err == ENOENT ? ErrorCategory::NotFound : ErrorCategory::Io,
                  std::string("cannot open checkpoint file: ") + std::strerror(err), label_);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCategory::Io,
                  S_ISDIR(st.st_mode) ? std::string("is a folder, not a checkpoint file")
                                      : std::string("cannot stat file: ") + std::strerror(err),
                  label_);
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      // MAP_PRIVATE + PROT_READ: nothing is read until a tensor is loaded, and nothing the
      // process does can write to the file.
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw Error(ErrorCategory::Io, std::string("cannot memory-map file: ") + std::strerror(err),
                    label_);
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
  }

  ~MappedFile() override {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }

  void will_need(size_t offset, size_t length) const override {
    if (data_ == nullptr || length == 0 || offset >= size_) return;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t begin = offset / page * page;
    const size_t end = std::min(size_, offset + length);
    // Advisory only: read-ahead of the whole tensor instead of one fault per page.
    ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_WILLNEED);
  }
};

class OwnedBytes final : public ByteSource {
 public:
  OwnedBytes(std::string bytes, std::string label) : bytes_(std::move(bytes)) {
    label_ = std::move(label);
    data_ = reinterpret_cast<const uint8_t*>(bytes_.data());
    size_ = bytes_.size();
  }

 private:
  std::string bytes_;
};

}  // namespace

std::shared_ptr<const ByteSource> map_file(const std::filesystem::path& path) {
  return std::make_shared<MappedFile>(path);
}

std::shared_ptr<const ByteSource> own_bytes(std::string bytes, std::string label) {
  return std::make_shared<OwnedBytes>(std::move(bytes), std::move(label));
}

}  // namespace reelforge::tensors::detail
