#pragma once
// SentencePiece, isolated. Debian's libsentencepiece bundles its own copy of protobuf-lite 3.14
// and exports all of its symbols, while LibTorch loads the system protobuf 3.21: linked into one
// program they bind to each other's functions and crash before main() (or abort on a version
// check). So libsentencepiece lives behind a small C module (src/spm_shim) loaded with
// dlmopen(LM_ID_NEWLM) into a link namespace of its own, where it sees its own protobuf and nobody
// else sees it. (RTLD_DEEPBIND is not enough: the module then writes to an uninitialised copy of
// std::cerr.) Only C types and buffers freed by the module cross the boundary.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reelforge::models {

class SentencePieceModel {
 public:
  // A serialized ModelProto file. Error(NotFound) when missing, Error(Format) when unreadable.
  static SentencePieceModel load(const std::filesystem::path& path);
  static SentencePieceModel from_serialized(std::string_view model_proto);

  SentencePieceModel(SentencePieceModel&&) noexcept;
  SentencePieceModel& operator=(SentencePieceModel&&) noexcept;
  ~SentencePieceModel();

  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;
  std::string id_to_piece(int id) const;
  int piece_to_id(std::string_view piece) const;
  int piece_size() const;
  int unk_id() const;
  int bos_id() const;  // -1 when the model has none
  int eos_id() const;
  int pad_id() const;

 private:
  struct Handle;
  explicit SentencePieceModel(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
};

// Trains a model with SentencePieceTrainer's flag syntax, e.g.
// "--input=corpus.txt --model_prefix=out/spiece --vocab_size=8000 --pad_id=0 --eos_id=1 ...".
// Error(InvalidArgument) with the trainer's message on failure.
void train_sentencepiece(const std::string& flags);

}  // namespace reelforge::models
