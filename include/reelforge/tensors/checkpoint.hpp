#pragma once
// Reading model weights: safetensors files (memory-mapped, read lazily tensor by tensor), sharded
// checkpoints (`*.safetensors.index.json`) and the official Wan `.pth` archives, behind one
// interface. Every file is treated as untrusted input and validated before use.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace reelforge::tensors {

enum class DType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, Bool };

const char* to_string(DType dtype);  // the safetensors spelling: "F32", "BF16", "F8_E4M3", ...
size_t element_size(DType dtype);
// The safetensors spelling back to a DType; nullopt for names this reader does not know.
std::optional<DType> parse_dtype(const std::string& name);
// The LibTorch type a tensor of this dtype loads as by default (F8 formats: float32).
at::ScalarType scalar_type(DType dtype);
// The stored dtype for a LibTorch dtype; nullopt for types safetensors cannot hold (complex, ...).
std::optional<DType> dtype_of(at::ScalarType type);

// The two 8-bit float formats, decoded exactly (every code is representable in float32).
// E4M3 is the "fn" variant (PyTorch float8_e4m3fn): bias 7, subnormals, no infinities,
// S.1111.111 is NaN, so the largest finite value is 448. E5M2 is IEEE-like: bias 15,
// subnormals, S.11111.00 is infinity and S.11111.xx (xx != 0) NaN.
float decode_f8_e4m3(uint8_t bits);
float decode_f8_e5m2(uint8_t bits);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t byte_size = 0;
  int64_t numel() const;
};

// A read-only set of named tensors from one or more files.
class Checkpoint {
 public:
  // A `.safetensors` file, a `*.safetensors.index.json` of shards, a `.pth` archive, or a folder
  // holding exactly one of these. Error(NotFound / Format) naming the file and the problem.
  static Checkpoint open(const std::filesystem::path& path);
  // A safetensors file image held in memory (it is moved in and owned); `label` stands in for the
  // file name in errors. Same validation as open(); the fuzzer and tests use it.
  static Checkpoint from_safetensors_bytes(std::string bytes, std::string label = "<memory>");

  Checkpoint();
  ~Checkpoint();
  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // Error(NotFound) naming the key

  // The tensor on the CPU. Without `dtype` it keeps the stored dtype where LibTorch has one
  // (F8 formats, which LibTorch 1.13 lacks, are decoded to float32); with `dtype` it is converted.
  at::Tensor load(const std::string& name,
                  std::optional<at::ScalarType> dtype = std::nullopt) const;

  // The `__metadata__` string map of a safetensors file (merged over shards); empty for `.pth`.
  const std::map<std::string, std::string>& metadata() const;
  std::vector<std::filesystem::path> files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelforge::tensors
