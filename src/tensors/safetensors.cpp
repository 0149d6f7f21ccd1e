// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the
// data area the offsets are relative to. Everything in the header is untrusted: every rule the
// rest of the code relies on (offsets inside the data area, no overlaps, byte counts matching
// shape x dtype, no overflow) is checked here, once, at open time.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "reelforge/core/error.hpp"
#include "tensors/checkpoint_impl.hpp"

namespace reelforge::tensors::detail {
namespace {

// Real headers are well under 10 MB (a 30-layer DiT has ~1,000 tensors, ~150 KB of JSON); the
// limit only stops a hostile length from making us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// Nesting deeper than this is never valid ({ "t": { "shape": [ ] } } is depth 3).
constexpr int kMaxJsonDepth = 8;
// Above this, shape products are nonsense on any machine; the bound also keeps the byte count
// (numel x at most 8 bytes) inside 63 bits, so neither the product nor int64 shapes can overflow.
constexpr uint64_t kMaxElements = 1ull << 60;

[[noreturn]] void fail(const std::string& label, const std::string& message) {
  throw Error(ErrorCategory::Format, "invalid safetensors file: " + message, label);
}

// Parses the header JSON, rejecting duplicate keys (nlohmann keeps the last one silently, and a
// file whose tensor list depends on which duplicate wins is not one we want to guess about) and
// absurd nesting.
nlohmann::json parse_header(const char* begin, const char* end, const std::string& label) {
  std::vector<std::set<std::string>> keys_per_object;
  int depth = 0;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (++depth > kMaxJsonDepth) {
          fail(label, "header JSON is nested deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels; a safetensors header is at most 3 deep");
        }
        if (event == Event::object_start) keys_per_object.emplace_back();
        break;
      case Event::object_end:
      case Event::array_end:
        --depth;
        if (event == Event::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
        break;
      case Event::key:
        if (!keys_per_object.empty() && parsed.is_string() &&
            !keys_per_object.back().insert(parsed.get<std::string>()).second) {
          fail(label, "header JSON has the key '" + parsed.get<std::string>() +
                          "' twice in one object; names must be unique");
        }
        break;
      case Event::value:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(begin, end, callback, /*allow_exceptions=*/true,
                                 /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    fail(label, std::string("header is not valid JSON (") + e.what() + ")");
  }
}

// A JSON number that is a non-negative integer (nlohmann: unsigned, or signed >= 0).
bool as_u64(const nlohmann::json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

const char* kValidDTypes = "F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL";

DType parse_entry_dtype(const nlohmann::json& j, const std::string& name,
                        const std::string& label) {
  if (!j.is_string()) fail(label, "tensor '" + name + "': \"dtype\" is not a string");
  const std::string s = j.get<std::string>();
  if (auto dtype = parse_dtype(s)) return *dtype;
  static const std::set<std::string> kKnownUnsupported = {
      "U16", "U32",     "U64",     "C64",         "F8_E8M0",
      "F4",  "F6_E2M3", "F6_E3M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ"};
  if (kKnownUnsupported.count(s) != 0) {
    throw Error(ErrorCategory::Unsupported,
                "tensor '" + name + "' has dtype " + s +
                    ", which ReelForge cannot load; supported: " + kValidDTypes,
                label);
  }
  fail(label, "tensor '" + name + "' has unknown dtype '" + s + "'; valid: " + kValidDTypes);
}

struct Span {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

void read_safetensors(const ByteSource& source, size_t source_index, EntryMap& entries,
                      std::map<std::string, std::string>& metadata) {
  const std::string& label = source.label();
  const uint64_t file_size = source.size();
  if (file_size < 8) {
    fail(label, "file is " + std::to_string(file_size) +
                    " bytes, shorter than the 8-byte header length that starts every file");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | source.data()[i];  // little-endian
  if (header_len > kMaxHeaderBytes) {
    fail(label, "header length " + std::to_string(header_len) + " bytes is above the " +
                    std::to_string(kMaxHeaderBytes >> 20) +
                    " MB limit (is this a safetensors file?)");
  }
  if (header_len > file_size - 8) {
    fail(label, "header length " + std::to_string(header_len) + " bytes runs past the end of the " +
                    std::to_string(file_size) + "-byte file (truncated download?)");
  }
  if (header_len < 2) fail(label, "header length " + std::to_string(header_len) + " is too short");
  const char* json_begin = reinterpret_cast<const char*>(source.data() + 8);
  const nlohmann::json header = parse_header(json_begin, json_begin + header_len, label);
  if (!header.is_object()) fail(label, "header JSON is not an object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  std::vector<Span> spans;
  EntryMap parsed;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(label, "\"__metadata__\" is not an object of strings");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) {
          fail(label, "\"__metadata__\" value of '" + key + "' is not a string (all must be)");
        }
        metadata.emplace(key, text.get<std::string>());  // the first shard's value wins
      }
      continue;
    }
    if (!value.is_object()) fail(label, "entry '" + name + "' is not an object");
    // Unknown members are ignored, as the reference implementation does.
    const auto dtype_it = value.find("dtype");
    const auto shape_it = value.find("shape");
    const auto offsets_it = value.find("data_offsets");
    if (dtype_it == value.end() || shape_it == value.end() || offsets_it == value.end()) {
      fail(label, "tensor '" + name + "' lacks one of \"dtype\", \"shape\", \"data_offsets\"");
    }
    Entry entry;
    entry.source = source_index;
    entry.info.name = name;
    entry.info.dtype = parse_entry_dtype(*dtype_it, name, label);

    if (!shape_it->is_array()) fail(label, "tensor '" + name + "': \"shape\" is not an array");
    uint64_t numel = 1;
    // The product of the non-zero dims is bounded too: LibTorch computes contiguous strides from
    // it even when another dim is 0, so [0, 2^40, 2^40] would overflow a stride.
    uint64_t extent = 1;
    if (shape_it->size() > 64) {
      fail(label, "tensor '" + name + "' has " + std::to_string(shape_it->size()) +
                      " dimensions; at most 64 are supported");
    }
    for (const auto& dim_json : *shape_it) {
      uint64_t dim = 0;
      if (!as_u64(dim_json, dim)) {
        fail(label, "tensor '" + name + "' has shape " + shape_it->dump() +
                        "; dimensions must be non-negative integers");
      }
      const uint64_t factor = std::max<uint64_t>(dim, 1);
      if (factor > kMaxElements || extent > kMaxElements / factor) {
        fail(label, "tensor '" + name + "' has shape " + shape_it->dump() +
                        " whose element count overflows (limit 2^60)");
      }
      extent *= factor;
      numel *= dim;
      entry.info.shape.push_back(static_cast<int64_t>(dim));
    }

    uint64_t begin = 0, end = 0;
    if (!offsets_it->is_array() || offsets_it->size() != 2 || !as_u64((*offsets_it)[0], begin) ||
        !as_u64((*offsets_it)[1], end)) {
      fail(label, "tensor '" + name + "' has data_offsets " + offsets_it->dump() +
                      "; expected [begin, end] with non-negative integers");
    }
    if (end < begin) {
      fail(label, "tensor '" + name + "' has data_offsets [" + std::to_string(begin) + ", " +
                      std::to_string(end) + "] with end before begin");
    }
    const uint64_t element_bytes = element_size(entry.info.dtype);
    const uint64_t expected_bytes = numel * element_bytes;  // <= 2^63: no overflow
    if (end - begin != expected_bytes) {
      fail(label, "tensor '" + name + "' is " + to_string(entry.info.dtype) + " " +
                      shape_it->dump() + " = " + std::to_string(expected_bytes) +
                      " bytes, but its data_offsets [" + std::to_string(begin) + ", " +
                      std::to_string(end) + "] span " + std::to_string(end - begin) + " bytes");
    }
    if (end > data_size) {
      fail(label, "tensor '" + name + "' ends at data offset " + std::to_string(end) +
                      " but the data area is only " + std::to_string(data_size) +
                      " bytes (truncated file?)");
    }
    entry.info.byte_size = end - begin;
    entry.offset = data_start + begin;
    auto [it, inserted] = parsed.emplace(name, std::move(entry));
    RF_CHECK(inserted, "duplicate keys are rejected while parsing");
    spans.push_back(Span{begin, end, &it->first});
  }

  // Overlapping tensors would alias each other's bytes: a crafted file could make one tensor's
  // values depend on another's. Empty tensors occupy nothing and never overlap. Gaps between
  // tensors are allowed (the reference writer leaves none, but they are harmless).
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Span* previous = nullptr;
  for (const Span& span : spans) {
    if (span.begin == span.end) continue;
    if (previous != nullptr && span.begin < previous->end) {
      fail(label, "tensors '" + *previous->name + "' [" + std::to_string(previous->begin) + ", " +
                      std::to_string(previous->end) + ") and '" + *span.name + "' [" +
                      std::to_string(span.begin) + ", " + std::to_string(span.end) +
                      ") overlap in the data area");
    }
    previous = &span;
  }

  for (auto& [name, entry] : parsed) {
    if (entries.count(name) != 0) {
      const std::string& other = entries.at(name).info.name;
      fail(label, "tensor '" + other + "' also appears in another file of this checkpoint");
    }
  }
  entries.merge(parsed);
}

at::Tensor decode_tensor(const uint8_t* bytes, const TensorInfo& info,
                         std::optional<at::ScalarType> dtype, const std::string& label) {
  const std::vector<int64_t>& shape = info.shape;
  if (info.dtype == DType::F8_E4M3 || info.dtype == DType::F8_E5M2) {
    // LibTorch 1.13 has no float8 types: decode through a 256-entry table.
    static const auto kTables = [] {
      std::array<std::array<float, 256>, 2> t{};
      for (int i = 0; i < 256; ++i) {
        t[0][i] = decode_f8_e4m3(static_cast<uint8_t>(i));
        t[1][i] = decode_f8_e5m2(static_cast<uint8_t>(i));
      }
      return t;
    }();
    const auto& table = kTables[info.dtype == DType::F8_E4M3 ? 0 : 1];
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(at::kFloat));  // [shape] F32
    float* dst = out.data_ptr<float>();
    const int64_t n = out.numel();
    at::parallel_for(0, n, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = table[bytes[i]];
    });
    return dtype && *dtype != at::kFloat ? out.to(*dtype) : out;
  }

  const at::ScalarType stored = scalar_type(info.dtype);
  const at::ScalarType target = dtype.value_or(stored);
  if (info.dtype == DType::Bool) {
    // Any byte other than 0/1 in a bool tensor is undefined behaviour in LibTorch's kernels.
    for (uint64_t i = 0; i < info.byte_size; ++i) {
      if (bytes[i] > 1) {
        throw Error(ErrorCategory::Format,
                    "BOOL tensor '" + info.name + "' holds the byte " + std::to_string(bytes[i]) +
                        " at element " + std::to_string(i) + "; only 0 and 1 are valid",
                    label);
      }
    }
  }
  const auto options = at::TensorOptions().dtype(stored);
  const size_t alignment = element_size(info.dtype);
  if (reinterpret_cast<uintptr_t>(bytes) % alignment == 0) {
    // One copy (or one conversion) straight out of the mapping.
    at::Tensor mapped = at::from_blob(const_cast<uint8_t*>(bytes), shape, options);  // [shape]
    return target == stored ? mapped.clone(at::MemoryFormat::Contiguous) : mapped.to(target);
  }
  // Offsets need not be multiples of the element size (the format does not require it): copy the
  // bytes to aligned memory first.
  at::Tensor out = at::empty(shape, options);  // [shape]
  if (info.byte_size > 0) std::memcpy(out.data_ptr(), bytes, info.byte_size);
  return target == stored ? out : out.to(target);
}

}  // namespace reelforge::tensors::detail
