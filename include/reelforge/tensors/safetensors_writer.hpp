#pragma once
// Writing safetensors files: for tests that need real files, converters (a `.pth` to safetensors)
// and caches. Tensors are stored contiguous, little-endian, back to back in the order given, with
// the header padded with spaces to a multiple of 8 bytes as the reference writer does.

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace reelforge::tensors {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The complete file image. Error(InvalidArgument) for duplicate names, undefined tensors or
// dtypes safetensors cannot hold (complex, quantized).
std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// Writes the image atomically (AtomicFile): a failure leaves no partial file under `path`.
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace reelforge::tensors
