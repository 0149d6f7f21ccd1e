#include "reelforge/models/sentencepiece.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"

namespace fs = std::filesystem;

namespace reelforge::models {
namespace {

struct RawHandle;
using LoadFn = RawHandle* (*)(const char*, size_t, int, char*, size_t);
using FreeFn = void (*)(RawHandle*);
using FreeBufferFn = void (*)(void*);
using EncodeFn = int (*)(RawHandle*, const char*, size_t, int**, size_t*, char*, size_t);
using DecodeFn = int (*)(RawHandle*, const int*, size_t, char**, size_t*, char*, size_t);
using IdToPieceFn = int (*)(RawHandle*, int, char**, size_t*);
using PieceToIdFn = int (*)(RawHandle*, const char*, size_t);
using InfoFn = void (*)(RawHandle*, int*, int*, int*, int*, int*);
using TrainFn = int (*)(const char*, char*, size_t);

struct Api {
  LoadFn load;
  FreeFn free;
  FreeBufferFn free_buffer;
  EncodeFn encode;
  DecodeFn decode;
  IdToPieceFn id_to_piece;
  PieceToIdFn piece_to_id;
  InfoFn info;
  TrainFn train;
};

std::vector<fs::path> shim_candidates() {
  std::vector<fs::path> paths;
  if (const char* env = std::getenv("REELFORGE_SPM_MODULE"); env != nullptr && *env != '\0') paths.emplace_back(env);
  const fs::path exe_dir = executable_path().parent_path();
  paths.push_back(exe_dir / "libreelforge_spm.so");
  paths.push_back(exe_dir.parent_path() / "lib" / "reelforge" / "libreelforge_spm.so");
  paths.emplace_back(REELFORGE_SPM_BUILD_PATH);
  paths.emplace_back(REELFORGE_SPM_INSTALL_PATH);
  return paths;
}

const Api& api() {
  static std::once_flag once;
  static Api loaded{};
  static std::string problem;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string tried;
    for (const fs::path& p : shim_candidates()) {
      std::error_code ec;
      if (!fs::exists(p, ec)) {
        tried += "\n  " + p.string() + " (missing)";
        continue;
      }
      lib = ::dlmopen(LM_ID_NEWLM, p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) break;
      tried += "\n  " + p.string() + " (" + ::dlerror() + ")";
    }
    if (lib == nullptr) {
      problem = "cannot load the SentencePiece module libreelforge_spm.so; tried:" + tried;
      return;
    }
    auto sym = [&](const char* name) {
      void* s = ::dlsym(lib, name);
      if (s == nullptr) problem = std::string("the SentencePiece module lacks ") + name;
      return s;
    };
    loaded.load = reinterpret_cast<LoadFn>(sym("rf_spm_load"));
    loaded.free = reinterpret_cast<FreeFn>(sym("rf_spm_free"));
    loaded.free_buffer = reinterpret_cast<FreeBufferFn>(sym("rf_spm_free_buffer"));
    loaded.encode = reinterpret_cast<EncodeFn>(sym("rf_spm_encode"));
    loaded.decode = reinterpret_cast<DecodeFn>(sym("rf_spm_decode"));
    loaded.id_to_piece = reinterpret_cast<IdToPieceFn>(sym("rf_spm_id_to_piece"));
    loaded.piece_to_id = reinterpret_cast<PieceToIdFn>(sym("rf_spm_piece_to_id"));
    loaded.info = reinterpret_cast<InfoFn>(sym("rf_spm_info"));
    loaded.train = reinterpret_cast<TrainFn>(sym("rf_spm_train"));
  });
  if (!problem.empty()) throw Error(ErrorCategory::Unsupported, problem);
  return loaded;
}

}  // namespace

struct SentencePieceModel::Handle {
  RawHandle* raw = nullptr;
  int piece_size = 0, unk = -1, bos = -1, eos = -1, pad = -1;
  ~Handle() {
    if (raw != nullptr) api().free(raw);
  }
};

SentencePieceModel::SentencePieceModel(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {
  api().info(handle_->raw, &handle_->piece_size, &handle_->unk, &handle_->bos, &handle_->eos, &handle_->pad);
}
SentencePieceModel::SentencePieceModel(SentencePieceModel&&) noexcept = default;
SentencePieceModel& SentencePieceModel::operator=(SentencePieceModel&&) noexcept = default;
SentencePieceModel::~SentencePieceModel() = default;

SentencePieceModel SentencePieceModel::load(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(ErrorCategory::NotFound, "no SentencePiece model file", path.string());
  char err[512] = {0};
  const std::string p = path.string();
  RawHandle* raw = api().load(p.data(), p.size(), 1, err, sizeof err);
  if (raw == nullptr) {
    throw Error(ErrorCategory::Format, std::string("not a readable SentencePiece model: ") + err, p);
  }
  auto h = std::make_unique<Handle>();
  h->raw = raw;
  return SentencePieceModel(std::move(h));
}

SentencePieceModel SentencePieceModel::from_serialized(std::string_view model_proto) {
  char err[512] = {0};
  RawHandle* raw = api().load(model_proto.data(), model_proto.size(), 0, err, sizeof err);
  if (raw == nullptr) throw Error(ErrorCategory::Format, std::string("not a readable SentencePiece model: ") + err);
  auto h = std::make_unique<Handle>();
  h->raw = raw;
  return SentencePieceModel(std::move(h));
}

std::vector<int> SentencePieceModel::encode(std::string_view text) const {
  int* ids = nullptr;
  size_t count = 0;
  char err[512] = {0};
  if (api().encode(handle_->raw, text.data(), text.size(), &ids, &count, err, sizeof err) != 0) {
    throw Error(ErrorCategory::InvalidArgument, std::string("SentencePiece cannot encode the text: ") + err);
  }
  std::vector<int> out(ids, ids + count);
  api().free_buffer(ids);
  return out;
}

std::string SentencePieceModel::decode(const std::vector<int>& ids) const {
  char* text = nullptr;
  size_t len = 0;
  char err[512] = {0};
  if (api().decode(handle_->raw, ids.data(), ids.size(), &text, &len, err, sizeof err) != 0) {
    throw Error(ErrorCategory::InvalidArgument, std::string("SentencePiece cannot decode the ids: ") + err);
  }
  std::string out(text, len);
  api().free_buffer(text);
  return out;
}

std::string SentencePieceModel::id_to_piece(int id) const {
  char* text = nullptr;
  size_t len = 0;
  if (api().id_to_piece(handle_->raw, id, &text, &len) != 0) {
    throw Error(ErrorCategory::InvalidArgument,
                "token id " + std::to_string(id) + " is outside 0.." + std::to_string(handle_->piece_size - 1));
  }
  std::string out(text, len);
  api().free_buffer(text);
  return out;
}

int SentencePieceModel::piece_to_id(std::string_view piece) const {
  return api().piece_to_id(handle_->raw, piece.data(), piece.size());
}
int SentencePieceModel::piece_size() const { return handle_->piece_size; }
int SentencePieceModel::unk_id() const { return handle_->unk; }
int SentencePieceModel::bos_id() const { return handle_->bos; }
int SentencePieceModel::eos_id() const { return handle_->eos; }
int SentencePieceModel::pad_id() const { return handle_->pad; }

void train_sentencepiece(const std::string& flags) {
  char err[1024] = {0};
  if (api().train(flags.c_str(), err, sizeof err) != 0) {
    throw Error(ErrorCategory::InvalidArgument, std::string("SentencePiece training failed: ") + err);
  }
}

}  // namespace reelforge::models
