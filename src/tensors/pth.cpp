// The official Wan `.pth` files (Wan2.1_VAE.pth, models_t5_umt5-xxl-enc-bf16.pth) are Python
// torch.save archives of a state dict: a zip whose `<archive>/data.pkl` is a protocol-2 pickle
// of a collections.OrderedDict of tensors, with each tensor's storage in `<archive>/data/<key>`.
//
// Why not LibTorch's torch::jit::Unpickler: in LibTorch 1.13 it turns every
// collections.OrderedDict into None and only applies BUILD to TorchScript objects, so a Python
// state dict (an OrderedDict with a `_metadata` attribute) comes back as None. This file has its
// own small pickle interpreter instead. It is restricted by construction: it knows the handful of
// globals a state dict needs (OrderedDict, the tensor/parameter rebuild functions, the storage
// types, LibTorch's restore_type_tag) and refuses any other, so nothing in the file can make it
// call code. It also replaces the zip reader: records are located from the central directory and
// used in place in the memory map, so tensors are views into the file and nothing is held twice.

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <limits>
#include <unordered_map>

#include "reelforge/core/error.hpp"
#include "tensors/checkpoint_impl.hpp"

namespace reelforge::tensors::detail {
namespace {

[[noreturn]] void fail(const std::string& label, const std::string& message,
                       ErrorCategory category = ErrorCategory::Format) {
  throw Error(category, "invalid .pth archive: " + message, label);
}

uint64_t read_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// ---- zip (stored records only, zip64 aware) -------------------------------------------------

struct Record {
  uint64_t offset = 0;  // of the data, in the file
  uint64_t size = 0;
};

std::map<std::string, Record> read_zip_directory(const ByteSource& src) {
  const std::string& label = src.label();
  const uint8_t* data = src.data();
  const uint64_t size = src.size();
  auto need = [&](uint64_t offset, uint64_t length, const char* what) {
    if (offset > size || length > size - offset) {
      fail(label, std::string(what) + " at byte " + std::to_string(offset) +
                      " runs past the end of the file (truncated?)");
    }
  };
  // End of central directory: 22 bytes + a comment of up to 65535 bytes, at the very end.
  if (size < 22) fail(label, "file is too short to be a zip archive");
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t pos = size - 22 + 1; pos-- > lowest;) {
    if (read_le(data + pos, 4) == 0x06054b50) {
      eocd = pos;
      break;
    }
  }
  if (eocd == std::numeric_limits<uint64_t>::max()) {
    fail(label, "no zip end-of-central-directory record (not a torch.save archive, or truncated)");
  }
  uint64_t entries = read_le(data + eocd + 10, 2);
  uint64_t cd_size = read_le(data + eocd + 12, 4);
  uint64_t cd_offset = read_le(data + eocd + 16, 4);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // Zip64 (archives over 4 GB, e.g. the 11 GB umT5-XXL): a locator just before the record.
    if (eocd < 20 || read_le(data + eocd - 20, 4) != 0x07064b50) {
      fail(label, "zip64 archive without a zip64 end-of-central-directory locator");
    }
    const uint64_t z64 = read_le(data + eocd - 20 + 8, 8);
    need(z64, 56, "zip64 end-of-central-directory record");
    if (read_le(data + z64, 4) != 0x06064b50) fail(label, "bad zip64 end-of-central-directory");
    entries = read_le(data + z64 + 32, 8);
    cd_size = read_le(data + z64 + 40, 8);
    cd_offset = read_le(data + z64 + 48, 8);
  }
  need(cd_offset, cd_size, "zip central directory");
  if (entries > cd_size / 46) fail(label, "zip central directory is too small for its entry count");

  std::map<std::string, Record> records;
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < entries; ++i) {
    if (pos + 46 > cd_end || read_le(data + pos, 4) != 0x02014b50) {
      fail(label, "zip central directory entry " + std::to_string(i) + " is malformed");
    }
    const uint64_t method = read_le(data + pos + 10, 2);
    uint64_t compressed = read_le(data + pos + 20, 4);
    uint64_t uncompressed = read_le(data + pos + 24, 4);
    const uint64_t name_len = read_le(data + pos + 28, 2);
    const uint64_t extra_len = read_le(data + pos + 30, 2);
    const uint64_t comment_len = read_le(data + pos + 32, 2);
    uint64_t local = read_le(data + pos + 42, 4);
    if (pos + 46 + name_len + extra_len + comment_len > cd_end) {
      fail(label, "zip central directory entry " + std::to_string(i) + " runs past its end");
    }
    const std::string name(reinterpret_cast<const char*>(data + pos + 46), name_len);
    // Zip64 extra field: the 64-bit values of the fields that are 0xffffffff, in this order.
    const uint8_t* extra = data + pos + 46 + name_len;
    for (uint64_t e = 0; e + 4 <= extra_len;) {
      const uint64_t id = read_le(extra + e, 2);
      const uint64_t len = read_le(extra + e + 2, 2);
      if (e + 4 + len > extra_len) break;
      if (id == 0x0001) {
        uint64_t f = e + 4;
        for (uint64_t* field : {&uncompressed, &compressed, &local}) {
          if (*field != 0xffffffff) continue;
          if (f + 8 > e + 4 + len) fail(label, "zip64 extra field of '" + name + "' is short");
          *field = read_le(extra + f, 8);
          f += 8;
        }
      }
      e += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    if (method != 0 || compressed != uncompressed) {
      fail(label,
           "record '" + name + "' is compressed (zip method " + std::to_string(method) +
               "); torch.save writes uncompressed records, re-save the file with torch.save",
           ErrorCategory::Unsupported);
    }
    need(local, 30, "zip local header");
    if (read_le(data + local, 4) != 0x04034b50) {
      fail(label, "zip local header of '" + name + "' is missing");
    }
    const uint64_t start =
        local + 30 + read_le(data + local + 26, 2) + read_le(data + local + 28, 2);
    need(start, uncompressed, ("record '" + name + "'").c_str());
    if (!records.emplace(name, Record{start, uncompressed}).second) {
      fail(label, "zip archive holds '" + name + "' twice");
    }
  }
  return records;
}

// ---- the restricted pickle machine -----------------------------------------------------------

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                                   // String; Global "module.name"; Storage key
  std::vector<Value*> items;                       // Tuple, List
  std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
  at::ScalarType storage_type = at::kFloat;        // Storage
  at::Tensor tensor;                               // Storage (1-D, whole record), Tensor
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "str";
    case Value::Kind::Tuple:
      return "tuple";
    case Value::Kind::List:
      return "list";
    case Value::Kind::Dict:
      return "dict";
    case Value::Kind::Global:
      return "global";
    case Value::Kind::Storage:
      return "storage";
    case Value::Kind::Tensor:
      return "tensor";
  }
  return "?";
}

std::optional<at::ScalarType> storage_scalar_type(const std::string& global) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  const auto it = kTypes.find(global);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

class PickleMachine {
 public:
  PickleMachine(const std::shared_ptr<const ByteSource>& source,
                const std::map<std::string, Record>& records, std::string prefix)
      : source_(source), records_(records), prefix_(std::move(prefix)), label_(source->label()) {}

  Value* run(const uint8_t* p, uint64_t n) {
    p_ = p;
    n_ = n;
    pos_ = 0;
    while (true) {
      if (pos_ >= n_) fail(label_, "data.pkl ends without a STOP opcode");
      const uint64_t at = pos_;
      const uint8_t op = take(1)[0];
      switch (op) {
        case 0x80:
          take(1);
          break;  // PROTO
        case 0x95:
          take(8);
          break;   // FRAME
        case '.':  // STOP
          if (stack_.size() != 1) fail(label_, "data.pkl stops with a malformed stack");
          return stack_.back();
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case '0':
          pop();
          break;  // POP
        case '1':
          pop_mark();
          break;  // POP_MARK
        case '2':
          push(top());
          break;  // DUP
        case 'N':
          push(make(Value::Kind::None));
          break;
        case 0x88:
          push(make_int(Value::Kind::Bool, 1));
          break;  // NEWTRUE
        case 0x89:
          push(make_int(Value::Kind::Bool, 0));
          break;  // NEWFALSE
        case 'K':
          push(make_int(Value::Kind::Int, static_cast<int64_t>(read_le(take(1), 1))));
          break;
        case 'M':
          push(make_int(Value::Kind::Int, static_cast<int64_t>(read_le(take(2), 2))));
          break;
        case 'J':
          push(make_int(Value::Kind::Int,
                        static_cast<int32_t>(static_cast<uint32_t>(read_le(take(4), 4)))));
          break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const uint64_t len = read_le(take(1), 1);
          if (len > 8) fail(label_, "integer of " + std::to_string(len) + " bytes in data.pkl");
          const uint8_t* b = take(len);
          uint64_t v = read_le(b, static_cast<int>(len));
          if (len > 0 && len < 8 && (b[len - 1] & 0x80)) v |= ~0ull << (8 * len);  // sign-extend
          push(make_int(Value::Kind::Int, static_cast<int64_t>(v)));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const uint8_t* b = take(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
          Value* v = make(Value::Kind::Float);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 0x8c:
          push_string(read_le(take(1), 1));
          break;  // SHORT_BINUNICODE
        case 'X':
          push_string(read_le(take(4), 4));
          break;  // BINUNICODE
        case 0x8d:
          push_string(read_le(take(8), 8));
          break;  // BINUNICODE8
        case 'U':
          push_string(read_le(take(1), 1));
          break;  // SHORT_BINSTRING
        case 'T':
          push_string(read_le(take(4), 4));
          break;  // BINSTRING
        case ')':
          push(make(Value::Kind::Tuple));
          break;     // EMPTY_TUPLE
        case 't': {  // TUPLE
          Value* t = make(Value::Kind::Tuple);
          t->items = pop_to_mark();
          push(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t count = op - 0x84;
          if (stack_.size() < count + floor())
            fail_at(at, "tuple of more items than the stack has");
          Value* t = make(Value::Kind::Tuple);
          t->items.assign(stack_.end() - count, stack_.end());
          stack_.resize(stack_.size() - count);
          push(t);
          break;
        }
        case ']':
          push(make(Value::Kind::List));
          break;     // EMPTY_LIST
        case 'l': {  // LIST
          Value* l = make(Value::Kind::List);
          l->items = pop_to_mark();
          push(l);
          break;
        }
        case 'a': {  // APPEND
          Value* item = pop();
          list_at(top(), at)->items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Value*> items = pop_to_mark();
          Value* l = list_at(top(), at);
          l->items.insert(l->items.end(), items.begin(), items.end());
          break;
        }
        case '}':
          push(make(Value::Kind::Dict));
          break;     // EMPTY_DICT
        case 'd': {  // DICT
          Value* d = make(Value::Kind::Dict);
          set_items(d, pop_to_mark(), at);
          push(d);
          break;
        }
        case 's': {  // SETITEM
          Value* value = pop();
          Value* key = pop();
          set_items(top(), {key, value}, at);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value*> items = pop_to_mark();
          set_items(top(), items, at);
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          const std::string module = read_line();
          const std::string name = read_line();
          push(global(module + "." + name, at));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = pop();
          Value* module = pop();
          if (module->kind != Value::Kind::String || name->kind != Value::Kind::String) {
            fail_at(at, "STACK_GLOBAL without two strings");
          }
          push(global(module->s + "." + name->s, at));
          break;
        }
        case 'R': {  // REDUCE
          Value* args = pop();
          Value* callable = pop();
          push(reduce(callable, args, at));
          break;
        }
        case 'b': {  // BUILD: sets attributes (a state dict's `_metadata`); not needed here.
          pop();
          const Value::Kind k = top()->kind;
          if (k != Value::Kind::Dict && k != Value::Kind::Tensor) {
            fail_at(at, std::string("BUILD on a ") + kind_name(k));
          }
          break;
        }
        case 'Q':
          push(persistent_load(pop(), at));
          break;  // BINPERSID
        case 'h':
          push(memo_get(read_le(take(1), 1), at));
          break;  // BINGET
        case 'j':
          push(memo_get(read_le(take(4), 4), at));
          break;  // LONG_BINGET
        case 'q':
          memo_[read_le(take(1), 1)] = top();
          break;  // BINPUT
        case 'r':
          memo_[read_le(take(4), 4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        default:
          fail(label_,
               "data.pkl uses pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at) +
                   ", which a tensor state dict never needs",
               ErrorCategory::Unsupported);
      }
    }
  }

 private:
  const uint8_t* take(uint64_t count) {
    if (count > n_ - pos_) fail(label_, "data.pkl is truncated");
    const uint8_t* p = p_ + pos_;
    pos_ += count;
    return p;
  }
  std::string read_line() {
    const uint64_t start = pos_;
    while (pos_ < n_ && p_[pos_] != '\n') ++pos_;
    if (pos_ >= n_) fail(label_, "data.pkl is truncated inside a GLOBAL");
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }
  [[noreturn]] void fail_at(uint64_t at, const std::string& what) {
    fail(label_, "data.pkl at byte " + std::to_string(at) + ": " + what);
  }

  Value* make(Value::Kind kind) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  Value* make_int(Value::Kind kind, int64_t i) {
    Value* v = make(kind);
    v->i = i;
    return v;
  }
  void push_string(uint64_t length) {
    Value* v = make(Value::Kind::String);
    const uint8_t* b = take(length);
    v->s.assign(reinterpret_cast<const char*>(b), length);
    push(v);
  }
  void push(Value* v) { stack_.push_back(v); }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* top() {
    if (stack_.size() <= floor()) fail_at(pos_, "stack underflow");
    return stack_.back();
  }
  Value* pop() {
    Value* v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<Value*> pop_to_mark() {
    if (marks_.empty()) fail_at(pos_, "no MARK to pop to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void pop_mark() { pop_to_mark(); }
  Value* memo_get(uint64_t index, uint64_t at) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail_at(at, "memo entry " + std::to_string(index) + " was never set");
    return it->second;
  }
  Value* list_at(Value* v, uint64_t at) {
    if (v->kind != Value::Kind::List) fail_at(at, std::string("APPEND to a ") + kind_name(v->kind));
    return v;
  }
  void set_items(Value* d, const std::vector<Value*>& items, uint64_t at) {
    if (d->kind != Value::Kind::Dict)
      fail_at(at, std::string("SETITEM on a ") + kind_name(d->kind));
    if (items.size() % 2 != 0) fail_at(at, "SETITEMS with an odd number of items");
    for (size_t k = 0; k < items.size(); k += 2) d->entries.emplace_back(items[k], items[k + 1]);
  }

  Value* global(const std::string& name, uint64_t at) {
    static const std::set<std::string> kAllowed = {"collections.OrderedDict",
                                                   "torch._utils._rebuild_tensor_v2",
                                                   "torch._utils._rebuild_tensor",
                                                   "torch._utils._rebuild_parameter",
                                                   "torch._utils._rebuild_parameter_with_state",
                                                   "torch.jit._pickle.restore_type_tag"};
    if (kAllowed.count(name) == 0 && !storage_scalar_type(name)) {
      // Python would import and call this: exactly what a malicious .pth relies on.
      fail(label_,
           "data.pkl refers to '" + name + "' (at byte " + std::to_string(at) +
               "), which is not part of a tensor state dict; refusing to load it (a .pth file can "
               "run code when Python loads it)",
           ErrorCategory::Unsupported);
    }
    Value* v = make(Value::Kind::Global);
    v->s = name;
    return v;
  }

  Value* arg(Value* args, size_t index, Value::Kind kind, const char* what, uint64_t at) {
    if (args->kind != Value::Kind::Tuple || args->items.size() <= index ||
        args->items[index]->kind != kind) {
      fail_at(at, std::string("bad ") + what + " in a tensor record");
    }
    return args->items[index];
  }

  std::vector<int64_t> int_tuple(Value* v, const char* what, uint64_t at) {
    if (v->kind != Value::Kind::Tuple && v->kind != Value::Kind::List) {
      fail_at(at, std::string(what) + " is not a tuple");
    }
    std::vector<int64_t> out;
    for (Value* item : v->items) {
      if (item->kind != Value::Kind::Int || item->i < 0) {
        fail_at(at, std::string(what) + " holds something other than a non-negative int");
      }
      out.push_back(item->i);
    }
    return out;
  }

  Value* reduce(Value* callable, Value* args, uint64_t at) {
    if (callable->kind != Value::Kind::Global) fail_at(at, "REDUCE of something not callable");
    if (args->kind != Value::Kind::Tuple) fail_at(at, "REDUCE arguments are not a tuple");
    const std::string& name = callable->s;
    if (name == "collections.OrderedDict") {
      if (!args->items.empty()) fail_at(at, "OrderedDict built from arguments");
      return make(Value::Kind::Dict);
    }
    if (name == "torch.jit._pickle.restore_type_tag")
      return arg(args, 0, Value::Kind::Dict, "value", at);
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      return arg(args, 0, Value::Kind::Tensor, "parameter data", at);
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      Value* storage = arg(args, 0, Value::Kind::Storage, "storage", at);
      const int64_t offset = arg(args, 1, Value::Kind::Int, "storage offset", at)->i;
      const std::vector<int64_t> sizes =
          int_tuple(args->items.size() > 2 ? args->items[2] : args, "size", at);
      const std::vector<int64_t> strides =
          int_tuple(args->items.size() > 3 ? args->items[3] : args, "stride", at);
      if (sizes.size() != strides.size()) fail_at(at, "tensor size and stride differ in length");
      // The view must lie inside its storage: nothing else stops a crafted file from reading
      // outside the record (LibTorch's unpickler does not check this).
      const int64_t storage_numel = storage->tensor.numel();
      if (offset < 0 || offset > storage_numel) fail_at(at, "storage offset outside its storage");
      __int128 last = offset;
      bool empty = false;
      for (size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] == 0) empty = true;
        last += static_cast<__int128>(std::max<int64_t>(sizes[d] - 1, 0)) * strides[d];
        if (last > storage_numel) break;
      }
      if (!empty && last >= storage_numel) {
        fail_at(at, "tensor view of size " + c10::str(c10::IntArrayRef(sizes)) +
                        " reaches past its storage of " + std::to_string(storage_numel) +
                        " elements");
      }
      Value* t = make(Value::Kind::Tensor);
      t->tensor = storage->tensor.as_strided(sizes, strides, offset);
      return t;
    }
    fail_at(at, "REDUCE of '" + name + "', which is not a constructor");
  }

  Value* persistent_load(Value* pid, uint64_t at) {
    // ('storage', torch.<T>Storage, key, location, numel)
    if (pid->kind != Value::Kind::Tuple || pid->items.size() != 5 ||
        pid->items[0]->kind != Value::Kind::String || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Value::Kind::Global || pid->items[2]->kind != Value::Kind::String ||
        pid->items[4]->kind != Value::Kind::Int) {
      fail_at(at, "persistent id is not ('storage', type, key, location, numel)");
    }
    const auto type = storage_scalar_type(pid->items[1]->s);
    if (!type) fail_at(at, "'" + pid->items[1]->s + "' is not a storage type");
    const std::string& key = pid->items[2]->s;
    const auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      if (cached->second->storage_type != *type) fail_at(at, "storage '" + key + "' has two types");
      return cached->second;
    }
    const auto record = records_.find(prefix_ + "data/" + key);
    if (record == records_.end()) fail_at(at, "storage record 'data/" + key + "' is missing");
    const int64_t numel = pid->items[4]->i;
    const uint64_t element = c10::elementSize(*type);
    if (numel < 0 || static_cast<uint64_t>(numel) > record->second.size / element) {
      fail_at(at, "storage '" + key + "' claims " + std::to_string(numel) + " elements but its " +
                      "record holds " + std::to_string(record->second.size) + " bytes");
    }
    Value* v = make(Value::Kind::Storage);
    v->storage_type = *type;
    v->s = key;
    const uint8_t* bytes = source_->data() + record->second.offset;
    const auto options = at::TensorOptions().dtype(*type);
    if (reinterpret_cast<uintptr_t>(bytes) % element == 0) {
      // A view of the mapped file; the deleter keeps the mapping alive. Never written to.
      auto* keep = new std::shared_ptr<const ByteSource>(source_);
      v->tensor = at::from_blob(
          const_cast<uint8_t*>(bytes), {numel}, [keep](void*) { delete keep; },
          options);  // [numel]
    } else {
      // torch.save aligns records to 64 bytes; a hand-made archive may not: copy that one.
      v->tensor = at::empty({numel}, options);  // [numel]
      if (numel > 0) std::memcpy(v->tensor.data_ptr(), bytes, numel * element);
    }
    if (*type == at::kBool) {
      const uint8_t* b = bytes;
      for (int64_t k = 0; k < numel; ++k) {
        if (b[k] > 1) fail_at(at, "bool storage '" + key + "' holds a byte other than 0 or 1");
      }
    }
    storages_[key] = v;
    return v;
  }

  std::shared_ptr<const ByteSource> source_;
  const std::map<std::string, Record>& records_;
  std::string prefix_;
  std::string label_;
  const uint8_t* p_ = nullptr;
  uint64_t n_ = 0, pos_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;  // owns every value: no recursion, cycles harmless
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  std::map<std::string, Value*> storages_;
};

// Nested dicts ({"state_dict": {...}}) are flattened with "." as PyTorch names submodules.
void collect(const Value* dict, const std::string& prefix, int depth, size_t source_index,
             EntryMap& entries, const std::string& label) {
  if (depth > 8) fail(label, "dicts nested more than 8 deep");
  for (const auto& [key, value] : dict->entries) {
    if (key->kind != Value::Kind::String) {
      fail(label, std::string("a dict key is a ") + kind_name(key->kind) + ", not a string");
    }
    const std::string name = prefix + key->s;
    if (value->kind == Value::Kind::Dict) {
      collect(value, name + ".", depth + 1, source_index, entries, label);
      continue;
    }
    if (value->kind != Value::Kind::Tensor) {
      spdlog::debug("{}: ignoring non-tensor entry '{}' ({})", label, name, kind_name(value->kind));
      continue;
    }
    Entry entry;
    entry.source = source_index;
    entry.view = value->tensor;
    entry.info.name = name;
    entry.info.dtype = *dtype_of(value->tensor.scalar_type());  // storages only have these types
    entry.info.shape = value->tensor.sizes().vec();
    entry.info.byte_size =
        static_cast<uint64_t>(value->tensor.numel()) * value->tensor.element_size();
    if (!entries.emplace(name, std::move(entry)).second) {
      fail(label, "tensor name '" + name + "' appears twice");
    }
  }
}

}  // namespace

void read_pth(const std::shared_ptr<const ByteSource>& source, size_t source_index,
              EntryMap& entries) {
  const std::string& label = source->label();
  if (source->size() >= 3 && source->data()[0] == 0x80 && source->data()[1] == 0x02 &&
      source->data()[2] == 0x8a) {
    fail(label,
         "this is the legacy (PyTorch < 1.6) torch.save format; re-save it with a current "
         "PyTorch or convert it to safetensors",
         ErrorCategory::Unsupported);
  }
  if (source->size() < 4 || read_le(source->data(), 4) != 0x04034b50) {
    fail(label, "not a zip archive (a torch.save file starts with 'PK')");
  }
  const std::map<std::string, Record> records = read_zip_directory(*source);
  // Every record sits in one top folder named after the archive ("archive/" for LibTorch and
  // recent PyTorch, the file's stem for older ones).
  std::string prefix;
  int pickles = 0;
  for (const auto& [name, record] : records) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = name.substr(0, slash + 1);
      ++pickles;
    }
  }
  if (pickles != 1) {
    fail(label, pickles == 0 ? "no '<archive>/data.pkl' record: not a torch.save archive"
                             : "more than one '<archive>/data.pkl' record");
  }
  const auto byteorder = records.find(prefix + "byteorder");
  if (byteorder != records.end()) {
    const std::string order(
        reinterpret_cast<const char*>(source->data() + byteorder->second.offset),
        std::min<uint64_t>(byteorder->second.size, 16));
    if (order != "little") {
      fail(label, "tensors are stored '" + order + "'-endian; only little-endian is supported",
           ErrorCategory::Unsupported);
    }
  }
  const Record& pickle = records.at(prefix + "data.pkl");
  PickleMachine machine(source, records, prefix);
  const Value* root = machine.run(source->data() + pickle.offset, pickle.size);
  if (root->kind != Value::Kind::Dict) {
    fail(label, std::string("the archive holds a ") + kind_name(root->kind) +
                    ", not a dict of tensors (a state dict)");
  }
  collect(root, "", 0, source_index, entries, label);
}

}  // namespace reelforge::tensors::detail
