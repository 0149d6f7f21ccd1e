#pragma once
// What a Checkpoint holds, shared by the per-format readers (safetensors.cpp, pth.cpp) and
// checkpoint.cpp. Not a public header.

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reelforge/tensors/checkpoint.hpp"
#include "tensors/byte_source.hpp"

namespace reelforge::tensors::detail {

struct Entry {
  TensorInfo info;
  size_t source = 0;    // index into Checkpoint::Impl::sources
  uint64_t offset = 0;  // safetensors: absolute offset of the first byte in the source
  at::Tensor view;      // .pth: a CPU tensor viewing the mapped archive (no copy), else undefined
};

using EntryMap = std::map<std::string, Entry>;

// Parses and validates a safetensors image; adds its tensors (pointing at `source_index`) to
// `entries` and its `__metadata__` to `metadata`. Error(Format) naming source.label().
void read_safetensors(const ByteSource& source, size_t source_index, EntryMap& entries,
                      std::map<std::string, std::string>& metadata);

// Parses a torch.save zip archive of a state dict (never executing code); the entries are views
// into `source`, which they keep alive.
void read_pth(const std::shared_ptr<const ByteSource>& source, size_t source_index,
              EntryMap& entries);

// Copies (and converts) one safetensors tensor out of `bytes` (which is info.byte_size long).
at::Tensor decode_tensor(const uint8_t* bytes, const TensorInfo& info,
                         std::optional<at::ScalarType> dtype, const std::string& label);

}  // namespace reelforge::tensors::detail
