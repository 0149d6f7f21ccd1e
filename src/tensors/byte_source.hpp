#pragma once
// Bytes that tensors are read from: a read-only memory map of a file, or a buffer owned in memory
// (parse-from-memory for the fuzzer and tests). Shared by every tensor entry that points into it,
// so a mapping lives as long as a Checkpoint (or a zero-copy tensor view) needs it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace reelforge::tensors::detail {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // The file path (or a label for memory buffers): the context of every error about these bytes.
  const std::string& label() const { return label_; }
  // Tells the kernel a range is about to be read in full (a no-op for memory buffers).
  virtual void will_need(size_t offset, size_t length) const {}

 protected:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string label_;
};

// mmap(PROT_READ, MAP_PRIVATE) of the whole file. Error(NotFound) / Error(Io) naming the path.
std::shared_ptr<const ByteSource> map_file(const std::filesystem::path& path);
// Takes ownership of `bytes`.
std::shared_ptr<const ByteSource> own_bytes(std::string bytes, std::string label);

}  // namespace reelforge::tensors::detail
