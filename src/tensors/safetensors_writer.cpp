#include "reelforge/tensors/safetensors_writer.hpp"

#include <ATen/ATen.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace reelforge::tensors {
namespace {

DType stored_dtype(const at::Tensor& t, const std::string& name) {
  if (auto dtype = dtype_of(t.scalar_type())) return *dtype;
  throw Error(ErrorCategory::InvalidArgument, std::string("tensor '") + name + "' has dtype " +
                                                  c10::toString(t.scalar_type()) +
                                                  ", which safetensors cannot store");
}

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) {
      throw Error(ErrorCategory::InvalidArgument, "tensor '" + name + "' is undefined");
    }
    if (name == "__metadata__" || !seen.insert(name).second) {
      throw Error(ErrorCategory::InvalidArgument,
                  "tensor name '" + name + "' is reserved or used twice");
    }
    const DType dtype = stored_dtype(tensor, name);
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * element_size(dtype);
    header[name] = {{"dtype", to_string(dtype)},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(std::move(t));
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);  // little-endian
  out += json;
  out.reserve(out.size() + offset);
  for (const at::Tensor& t : contiguous) {
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace reelforge::tensors
