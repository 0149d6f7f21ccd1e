// A plain C interface over libsentencepiece, built as its own shared module and loaded with
// dlmopen into a namespace of its own (see include/reelforge/models/sentencepiece.hpp for why). Nothing C++ crosses this
// boundary: buffers are malloc'ed here and released through rf_spm_free_buffer.

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void set_error(char* err, size_t errlen, const std::string& message) {
  if (err == nullptr || errlen == 0) return;
  std::strncpy(err, message.c_str(), errlen - 1);
  err[errlen - 1] = '\0';
}

}  // namespace

extern "C" {

struct rf_spm {
  sentencepiece::SentencePieceProcessor processor;
};

__attribute__((visibility("default"))) rf_spm* rf_spm_load(const char* data, size_t len, int is_path,
                                                           char* err, size_t errlen) {
  try {
    auto* h = new rf_spm;
    const auto status = is_path ? h->processor.Load(std::string(data, len))
                                : h->processor.LoadFromSerializedProto(std::string(data, len));
    if (!status.ok()) {
      set_error(err, errlen, status.ToString());
      delete h;
      return nullptr;
    }
    return h;
  } catch (const std::exception& e) {
    set_error(err, errlen, e.what());
    return nullptr;
  }
}

__attribute__((visibility("default"))) void rf_spm_free(rf_spm* h) { delete h; }

__attribute__((visibility("default"))) void rf_spm_free_buffer(void* p) { std::free(p); }

__attribute__((visibility("default"))) int rf_spm_encode(rf_spm* h, const char* text, size_t len, int** ids,
                                                         size_t* count, char* err, size_t errlen) {
  try {
    std::vector<int> out;
    const auto status = h->processor.Encode(std::string(text, len), &out);
    if (!status.ok()) {
      set_error(err, errlen, status.ToString());
      return -1;
    }
    *count = out.size();
    *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
    if (*ids == nullptr) return -1;
    if (!out.empty()) std::memcpy(*ids, out.data(), sizeof(int) * out.size());
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, e.what());
    return -1;
  }
}

__attribute__((visibility("default"))) int rf_spm_decode(rf_spm* h, const int* ids, size_t count, char** text,
                                                         size_t* len, char* err, size_t errlen) {
  try {
    std::string out;
    const auto status = h->processor.Decode(std::vector<int>(ids, ids + count), &out);
    if (!status.ok()) {
      set_error(err, errlen, status.ToString());
      return -1;
    }
    *len = out.size();
    *text = static_cast<char*>(std::malloc(out.size() + 1));
    if (*text == nullptr) return -1;
    std::memcpy(*text, out.c_str(), out.size() + 1);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, e.what());
    return -1;
  }
}

__attribute__((visibility("default"))) int rf_spm_id_to_piece(rf_spm* h, int id, char** text, size_t* len) {
  if (id < 0 || id >= h->processor.GetPieceSize()) return -1;
  const std::string piece = h->processor.IdToPiece(id);
  *len = piece.size();
  *text = static_cast<char*>(std::malloc(piece.size() + 1));
  if (*text == nullptr) return -1;
  std::memcpy(*text, piece.c_str(), piece.size() + 1);
  return 0;
}

// piece count, then the ids of <unk>, <s>, </s>, <pad> (-1 when the model has none).
__attribute__((visibility("default"))) void rf_spm_info(rf_spm* h, int* piece_size, int* unk, int* bos, int* eos,
                                                        int* pad) {
  *piece_size = h->processor.GetPieceSize();
  *unk = h->processor.unk_id();
  *bos = h->processor.bos_id();
  *eos = h->processor.eos_id();
  *pad = h->processor.pad_id();
}

__attribute__((visibility("default"))) int rf_spm_piece_to_id(rf_spm* h, const char* piece, size_t len) {
  return h->processor.PieceToId(std::string(piece, len));
}

__attribute__((visibility("default"))) int rf_spm_train(const char* args, char* err, size_t errlen) {
  try {
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) {
      set_error(err, errlen, status.ToString());
      return -1;
    }
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, e.what());
    return -1;
  }
}

}  // extern "C"
