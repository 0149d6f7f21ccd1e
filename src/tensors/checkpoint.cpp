// Checkpoint: one sorted table of tensor entries over one or more mapped files, whatever the
// format on disk. The readers (safetensors.cpp, pth.cpp) fill the table; loading copies one
// tensor out of its mapping, so opening a checkpoint costs its header, not its size.

#include "reelforge/tensors/checkpoint.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "tensors/checkpoint_impl.hpp"

namespace fs = std::filesystem;

namespace reelforge::tensors {

static_assert(sizeof(float) == 4, "float32 expected");

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::F64:
      return "F64";
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::F8_E4M3:
      return "F8_E4M3";
    case DType::F8_E5M2:
      return "F8_E5M2";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::I16:
      return "I16";
    case DType::I8:
      return "I8";
    case DType::U8:
      return "U8";
    case DType::Bool:
      return "BOOL";
  }
  return "?";
}

size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
    case DType::I8:
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  return 1;
}

std::optional<DType> parse_dtype(const std::string& name) {
  static const std::map<std::string, DType> kNames = {
      {"F64", DType::F64},   {"F32", DType::F32},         {"F16", DType::F16},
      {"BF16", DType::BF16}, {"F8_E4M3", DType::F8_E4M3}, {"F8_E5M2", DType::F8_E5M2},
      {"I64", DType::I64},   {"I32", DType::I32},         {"I16", DType::I16},
      {"I8", DType::I8},     {"U8", DType::U8},           {"BOOL", DType::Bool}};
  const auto it = kNames.find(name);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

at::ScalarType scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F64:
      return at::kDouble;
    case DType::F32:
      return at::kFloat;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
      return at::kFloat;
    case DType::I64:
      return at::kLong;
    case DType::I32:
      return at::kInt;
    case DType::I16:
      return at::kShort;
    case DType::I8:
      return at::kChar;
    case DType::U8:
      return at::kByte;
    case DType::Bool:
      return at::kBool;
  }
  return at::kFloat;
}

std::optional<DType> dtype_of(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return DType::F64;
    case at::kFloat:
      return DType::F32;
    case at::kHalf:
      return DType::F16;
    case at::kBFloat16:
      return DType::BF16;
    case at::kLong:
      return DType::I64;
    case at::kInt:
      return DType::I32;
    case at::kShort:
      return DType::I16;
    case at::kChar:
      return DType::I8;
    case at::kByte:
      return DType::U8;
    case at::kBool:
      return DType::Bool;
    default:
      return std::nullopt;
  }
}

namespace {

float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Builds the float32 bit pattern of an 8-bit float with `mantissa_bits` and exponent `bias`:
// normal numbers re-bias the exponent, subnormals are normalised by shifting the mantissa up.
float decode_minifloat(uint8_t bits, int mantissa_bits, int exponent_bits, int bias) {
  const uint32_t sign = static_cast<uint32_t>(bits >> 7) << 31;
  int exponent = (bits >> mantissa_bits) & ((1 << exponent_bits) - 1);
  uint32_t mantissa = bits & ((1u << mantissa_bits) - 1);
  if (exponent == 0) {
    if (mantissa == 0) return float_from_bits(sign);  // +-0
    exponent = 1;
    while ((mantissa & (1u << mantissa_bits)) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= (1u << mantissa_bits) - 1;
  }
  const uint32_t f32_exponent = static_cast<uint32_t>(exponent - bias + 127);
  return float_from_bits(sign | (f32_exponent << 23) | (mantissa << (23 - mantissa_bits)));
}

}  // namespace

float decode_f8_e4m3(uint8_t bits) {
  if ((bits & 0x7f) == 0x7f) return std::numeric_limits<float>::quiet_NaN();  // S.1111.111
  return decode_minifloat(bits, 3, 4, 7);  // exponent 15 is an ordinary binade ("fn": finite)
}

float decode_f8_e5m2(uint8_t bits) {
  if (((bits >> 2) & 0x1f) == 0x1f) {
    if ((bits & 3) != 0) return std::numeric_limits<float>::quiet_NaN();
    return (bits & 0x80) ? -std::numeric_limits<float>::infinity()
                         : std::numeric_limits<float>::infinity();
  }
  return decode_minifloat(bits, 2, 5, 15);
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct Checkpoint::Impl {
  std::vector<std::shared_ptr<const detail::ByteSource>> sources;
  std::vector<fs::path> files;
  detail::EntryMap entries;
  std::map<std::string, std::string> metadata;
  std::string label;  // what errors about a missing key name: the file or index path

  const detail::Entry& entry(const std::string& name) const {
    const auto it = entries.find(name);
    if (it != entries.end()) return it->second;
    std::string hint;
    // The sorted neighbour is usually the intended key (a prefix or a suffix differs).
    auto near = entries.lower_bound(name);
    if (near == entries.end() && !entries.empty()) --near;
    if (near != entries.end()) hint = "; nearest name: '" + near->first + "'";
    throw Error(ErrorCategory::NotFound,
                "no tensor named '" + name + "' (the checkpoint has " +
                    std::to_string(entries.size()) + " tensors" + hint + ")",
                label);
  }
};

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_index(const fs::path& p) {
  return ends_with(p.filename().string(), ".safetensors.index.json");
}
bool is_safetensors(const fs::path& p) {
  return p.extension() == ".safetensors";
}
bool is_pth(const fs::path& p) {
  const auto ext = p.extension();
  return ext == ".pth" || ext == ".pt" || ext == ".bin" || ext == ".ckpt";
}

// A folder holding exactly one checkpoint: its index if there is one (the shards sit beside it),
// else its only .safetensors file, else its only .pth file.
fs::path pick_in_folder(const fs::path& folder) {
  std::vector<fs::path> indexes, safetensors, pths;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder, ec)) {
    if (!item.is_regular_file(ec)) continue;
    const fs::path& p = item.path();
    if (is_index(p)) {
      indexes.push_back(p);
    } else if (is_safetensors(p)) {
      safetensors.push_back(p);
    } else if (is_pth(p)) {
      pths.push_back(p);
    }
  }
  if (ec) {
    throw Error(ErrorCategory::Io, "cannot list folder: " + ec.message(), folder.string());
  }
  for (const auto* group : {&indexes, &safetensors, &pths}) {
    if (group->empty()) continue;
    if (group->size() > 1) {
      std::vector<fs::path> sorted = *group;
      std::sort(sorted.begin(), sorted.end());
      throw Error(ErrorCategory::InvalidArgument,
                  "folder holds " + std::to_string(sorted.size()) + " candidate checkpoints ('" +
                      sorted[0].filename().string() + "', '" + sorted[1].filename().string() + "'" +
                      (sorted.size() > 2 ? ", ..." : "") + "); name the file to use",
                  folder.string());
    }
    return group->front();
  }
  throw Error(ErrorCategory::NotFound,
              "folder holds no checkpoint (*.safetensors, *.safetensors.index.json or *.pth)",
              folder.string());
}

}  // namespace

Checkpoint::Checkpoint() : impl_(std::make_unique<Impl>()) {}
Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;

Checkpoint Checkpoint::from_safetensors_bytes(std::string bytes, std::string label) {
  Checkpoint checkpoint;
  Impl& impl = *checkpoint.impl_;
  impl.label = label;
  impl.sources.push_back(detail::own_bytes(std::move(bytes), std::move(label)));
  detail::read_safetensors(*impl.sources[0], 0, impl.entries, impl.metadata);
  return checkpoint;
}

Checkpoint Checkpoint::open(const fs::path& path_in) {
  std::error_code ec;
  if (!fs::exists(path_in, ec)) {
    throw Error(ErrorCategory::NotFound, "checkpoint does not exist", path_in.string());
  }
  const fs::path path = fs::is_directory(path_in, ec) ? pick_in_folder(path_in) : path_in;

  Checkpoint checkpoint;
  Impl& impl = *checkpoint.impl_;
  impl.label = path.string();
  if (is_index(path)) {
    // {"metadata": {...}, "weight_map": {tensor name: shard file name}}
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCategory::Format, std::string("index is not valid JSON (") + e.what() + ")",
                  path.string());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw Error(ErrorCategory::Format,
                  "index has no \"weight_map\" object (tensor name -> shard file)", path.string());
    }
    std::map<std::string, std::vector<std::string>> names_by_shard;
    std::map<std::string, std::string> shard_of;
    for (const auto& [name, file] : index["weight_map"].items()) {
      if (!file.is_string()) {
        throw Error(ErrorCategory::Format,
                    "weight_map entry '" + name + "' is not a file name string", path.string());
      }
      const std::string shard = file.get<std::string>();
      const fs::path shard_path(shard);
      // Shards live beside the index: no folders, no "..", nothing absolute.
      if (shard.empty() || shard_path.has_parent_path() || shard_path.is_absolute() ||
          shard == "." || shard == "..") {
        throw Error(ErrorCategory::Format,
                    "weight_map puts '" + name + "' in '" + shard +
                        "'; shard names must be plain file names beside the index",
                    path.string());
      }
      names_by_shard[shard].push_back(name);
      shard_of[name] = shard;
    }
    if (names_by_shard.empty()) {
      throw Error(ErrorCategory::Format, "index weight_map is empty", path.string());
    }
    for (const auto& [shard, names] : names_by_shard) {
      const fs::path shard_path = path.parent_path() / shard;
      if (!fs::is_regular_file(shard_path, ec)) {
        throw Error(ErrorCategory::NotFound,
                    "shard '" + shard + "' named by the index (for '" + names.front() + "' and " +
                        std::to_string(names.size() - 1) + " other tensors) is missing",
                    path.string());
      }
      const size_t index_of_source = impl.sources.size();
      impl.sources.push_back(detail::map_file(shard_path));
      impl.files.push_back(shard_path);
      detail::EntryMap shard_entries;
      detail::read_safetensors(*impl.sources.back(), index_of_source, shard_entries, impl.metadata);
      for (const auto& name : names) {
        if (shard_entries.count(name) == 0) {
          throw Error(ErrorCategory::Format,
                      "the index puts '" + name + "' in '" + shard + "', which does not hold it",
                      path.string());
        }
      }
      for (auto& [name, entry] : shard_entries) {
        const auto where = shard_of.find(name);
        if (where == shard_of.end() || where->second != shard) {
          throw Error(ErrorCategory::Format,
                      "shard '" + shard + "' holds '" + name + "', but the index " +
                          (where == shard_of.end() ? std::string("does not list it")
                                                   : "puts it in '" + where->second + "'"),
                      path.string());
        }
        impl.entries.emplace(name, std::move(entry));
      }
    }
  } else if (is_pth(path)) {
    impl.sources.push_back(detail::map_file(path));
    impl.files.push_back(path);
    detail::read_pth(impl.sources.back(), 0, impl.entries);
  } else {
    // Anything else is read as safetensors: its header check rejects other formats clearly.
    impl.sources.push_back(detail::map_file(path));
    impl.files.push_back(path);
    detail::read_safetensors(*impl.sources.back(), 0, impl.entries, impl.metadata);
  }
  spdlog::debug("opened checkpoint {}: {} tensors in {} file(s)", path.string(),
                impl.entries.size(), impl.files.size());
  return checkpoint;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->entries.size());
  for (const auto& kv : impl_->entries) out.push_back(kv.first);
  return out;
}

bool Checkpoint::contains(const std::string& name) const {
  return impl_->entries.count(name) != 0;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  return impl_->entry(name).info;
}

at::Tensor Checkpoint::load(const std::string& name, std::optional<at::ScalarType> dtype) const {
  const detail::Entry& entry = impl_->entry(name);
  if (entry.view.defined()) {
    // .pth: the entry is a view into the mapped archive; copy (and convert) it out.
    const at::ScalarType target = dtype.value_or(entry.view.scalar_type());
    return target == entry.view.scalar_type() ? entry.view.clone(at::MemoryFormat::Contiguous)
                                              : entry.view.to(target);
  }
  const detail::ByteSource& source = *impl_->sources.at(entry.source);
  source.will_need(entry.offset, entry.info.byte_size);
  return detail::decode_tensor(source.data() + entry.offset, entry.info, dtype, source.label());
}

const std::map<std::string, std::string>& Checkpoint::metadata() const {
  return impl_->metadata;
}

std::vector<fs::path> Checkpoint::files() const {
  return impl_->files;
}

}  // namespace reelforge::tensors
