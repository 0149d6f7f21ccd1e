// The .pth reader through Checkpoint::open, on archives written by LibTorch's own zip writer
// (PyTorchStreamWriter: the C++ class Python's torch.save also writes through) holding
//  - the exact data.pkl Python's torch.save writes for a module's state_dict: made with the real
//    `pickle` module (protocol 2, torch.save's persistent_id and Tensor.__reduce_ex__ reproduced
//    with stand-in classes; the generator is in docs/checkpoints.md): a collections.OrderedDict
//    with a `_metadata` attribute (applied by BUILD), float32 / bfloat16 / int64 storages and a
//    non-contiguous view sharing another tensor's storage;
//  - what torch::pickle_save writes for a c10::Dict<std::string, at::Tensor>.

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::tensors::Checkpoint;
using reelforge::tensors::DType;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// data.pkl of torch.save(state_dict) where state_dict = OrderedDict(
//   "encoder.conv1.weight": storage 0 (float32, 6), offset 0, size (2, 3), stride (3, 1)
//   "decoder.head.bias":    storage 1 (bfloat16, 4), size (4,)
//   "encoder.tied_view":    storage 0, offset 2, size (2, 2), stride (1, 2)
//   "step":                 storage 2 (int64, 3), size (3,)
// ) with state_dict._metadata = OrderedDict([("", {"version": 1}), ("encoder", {"version": 1})]).
const std::string kPythonStateDictPickle = from_hex(
    "800263636f6c6c656374696f6e730a4f726465726564446963740a710029527101285814000000656e636f6465"
    "722e636f6e76312e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f72"
    "5f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a710558"
    "01000000307106580300000063707571074b06747108514b004b024b038671094b034b0186710a896800295271"
    "0b74710c52710d58110000006465636f6465722e686561642e62696173710e68032828680463746f7263680a42"
    "466c6f6174313653746f726167650a710f580100000031711068074b04747111514b004b048571124b01857113"
    "896800295271147471155271165811000000656e636f6465722e746965645f7669657771176803282868046805"
    "680668074b06747118514b024b024b028671194b014b0286711a8968002952711b74711c52711d580400000073"
    "746570711e68032828680463746f7263680a4c6f6e6753746f726167650a711f580100000032712068074b0374"
    "7121514b004b03857122681389680029527123747124527125757d712658090000005f6d657461646174617127"
    "68002952712828580000000071297d712a580700000076657273696f6e712b4b01735807000000656e636f6465"
    "72712c7d712d682b4b01737573622e");

// The same, except that "encoder.tied_view" starts at offset 3: its last element would be
// element 6 of a 6-element storage.
const std::string kOutOfBoundsViewPickle = from_hex(
    "800263636f6c6c656374696f6e730a4f726465726564446963740a710029527101285814000000656e636f6465"
    "722e636f6e76312e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f72"
    "5f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a710558"
    "01000000307106580300000063707571074b06747108514b004b024b038671094b034b0186710a896800295271"
    "0b74710c52710d58110000006465636f6465722e686561642e62696173710e68032828680463746f7263680a42"
    "466c6f6174313653746f726167650a710f580100000031711068074b04747111514b004b048571124b01857113"
    "896800295271147471155271165811000000656e636f6465722e746965645f7669657771176803282868046805"
    "680668074b06747118514b034b024b028671194b014b0286711a8968002952711b74711c52711d580400000073"
    "746570711e68032828680463746f7263680a4c6f6e6753746f726167650a711f580100000032712068074b0374"
    "7121514b004b03857122681389680029527123747124527125757d712658090000005f6d657461646174617127"
    "68002952712828580000000071297d712a580700000076657273696f6e712b4b01735807000000656e636f6465"
    "72712c7d712d682b4b01737573622e");

struct Storages {
  float f32[6] = {1, 2, 3, 4, 5, 6};
  at::Tensor bf16 = at::tensor({0.5f, -1.0f, 2.0f, 3.0f}).to(at::kBFloat16);
  int64_t i64[3] = {7, 8, 9};
};

// Writes a torch.save-style zip ("archive/data.pkl", "archive/data/<key>", "archive/version").
void write_archive(const fs::path& path, const std::string& pickle, bool with_storage_1 = true,
                   bool compress_storage_0 = false) {
  Storages s;
  std::ofstream out(path, std::ios::binary);
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("data/0", s.f32, sizeof s.f32, compress_storage_0);
  if (with_storage_1) writer.writeRecord("data/1", s.bf16.data_ptr(), 8);
  writer.writeRecord("data/2", s.i64, sizeof s.i64);
  writer.writeEndOfFile();
}

std::string open_error(const fs::path& path, ErrorCategory expected) {
  try {
    Checkpoint::open(path);
    ADD_FAILURE() << "open() accepted " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), expected) << e.what();
    EXPECT_EQ(e.context(), path.string()) << e.what();
    return e.message();
  }
  return {};
}

}  // namespace

TEST(Pth, ReadsAPythonTorchSaveStateDict) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "Wan2.1_VAE.pth", kPythonStateDictPickle);
  const Checkpoint ckpt = Checkpoint::open(dir / "Wan2.1_VAE.pth");
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"decoder.head.bias", "encoder.conv1.weight",
                                                    "encoder.tied_view", "step"}));
  EXPECT_TRUE(ckpt.metadata().empty());
  EXPECT_EQ(ckpt.info("decoder.head.bias").dtype, DType::BF16);
  EXPECT_EQ(ckpt.info("encoder.conv1.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ckpt.info("encoder.conv1.weight").byte_size, 24u);
  EXPECT_EQ(ckpt.info("step").dtype, DType::I64);

  const at::Tensor w = ckpt.load("encoder.conv1.weight");
  EXPECT_TRUE(at::equal(w, at::arange(1, 7, at::kFloat).reshape({2, 3})));
  // offset 2, size (2, 2), stride (1, 2) over [1..6]: [[3, 5], [4, 6]].
  const at::Tensor view = ckpt.load("encoder.tied_view");
  EXPECT_TRUE(view.is_contiguous());
  EXPECT_TRUE(at::equal(view, at::tensor({3.0f, 5.0f, 4.0f, 6.0f}).reshape({2, 2})));
  const at::Tensor bias = ckpt.load("decoder.head.bias");
  EXPECT_EQ(bias.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(
      at::equal(ckpt.load("decoder.head.bias", at::kFloat), at::tensor({0.5f, -1.0f, 2.0f, 3.0f})));
  EXPECT_TRUE(at::equal(ckpt.load("step"), at::tensor({7, 8, 9}, at::kLong)));

  // Loaded tensors are copies: writing to one changes neither the file view nor later loads.
  at::Tensor again = ckpt.load("encoder.conv1.weight");
  again.fill_(0);
  EXPECT_TRUE(at::equal(ckpt.load("encoder.conv1.weight"), w));
}

TEST(Pth, LoadedTensorsOutliveTheCheckpoint) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "m.pth", kPythonStateDictPickle);
  at::Tensor kept;
  {
    const Checkpoint ckpt = Checkpoint::open(dir / "m.pth");
    kept = ckpt.load("step");
  }
  fs::remove(dir / "m.pth");
  EXPECT_TRUE(at::equal(kept, at::tensor({7, 8, 9}, at::kLong)));
}

TEST(Pth, ReadsWhatLibTorchPickleSaveWrites) {
  reelforge::testing::TempDir dir;
  c10::Dict<std::string, at::Tensor> dict;
  const at::Tensor a = at::randn({3, 4});
  const at::Tensor b = at::randn({5}).to(at::kBFloat16);
  const at::Tensor c = at::arange(10, at::kLong);
  const at::Tensor h = at::randn({2, 2}, at::kDouble).to(at::kHalf);
  dict.insert("blocks.0.attn.q.weight", a);
  dict.insert("norm.weight", b);
  dict.insert("ids", c);
  dict.insert("half", h);
  dict.insert("transposed", a.t());  // saved as a view of a's storage
  const std::vector<char> bytes = torch::jit::pickle_save(dict);
  std::ofstream(dir / "t.pth", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const Checkpoint ckpt = Checkpoint::open(dir / "t.pth");
  ASSERT_EQ(ckpt.names().size(), 5u);
  EXPECT_TRUE(at::equal(ckpt.load("blocks.0.attn.q.weight"), a));
  EXPECT_TRUE(at::equal(ckpt.load("norm.weight"), b));
  EXPECT_TRUE(at::equal(ckpt.load("ids"), c));
  EXPECT_TRUE(at::equal(ckpt.load("half"), h));
  EXPECT_TRUE(at::equal(ckpt.load("transposed"), a.t()));
  EXPECT_EQ(ckpt.info("half").dtype, DType::F16);
  // A folder holding one .pth opens it.
  EXPECT_EQ(Checkpoint::open(dir.path()).names(), ckpt.names());
}

TEST(PthValidation, RefusesGlobalsOutsideAStateDict) {
  reelforge::testing::TempDir dir;
  // pickle.dumps(os.system("echo owned")) as Python writes it: GLOBAL 'os system', REDUCE.
  const std::string evil = from_hex(
      "800263706f7369780a73797374656d0a71005808000000656368"
      "6f206f776e71018571025271032e");
  write_archive(dir / "evil.pth", evil);
  const std::string msg = open_error(dir / "evil.pth", ErrorCategory::Unsupported);
  EXPECT_NE(msg.find("'posix.system'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("refusing to load"), std::string::npos) << msg;
}

TEST(PthValidation, RejectsViewsOutsideTheirStorage) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "oob.pth", kOutOfBoundsViewPickle);
  const std::string msg = open_error(dir / "oob.pth", ErrorCategory::Format);
  EXPECT_NE(msg.find("reaches past its storage of 6 elements"), std::string::npos) << msg;
}

TEST(PthValidation, RejectsMissingStorageRecords) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "m.pth", kPythonStateDictPickle, /*with_storage_1=*/false);
  const std::string msg = open_error(dir / "m.pth", ErrorCategory::Format);
  EXPECT_NE(msg.find("storage record 'data/1' is missing"), std::string::npos) << msg;
}

TEST(PthValidation, RejectsCompressedRecords) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "c.pth", kPythonStateDictPickle, true, /*compress_storage_0=*/true);
  const std::string msg = open_error(dir / "c.pth", ErrorCategory::Unsupported);
  EXPECT_NE(msg.find("is compressed"), std::string::npos) << msg;
}

TEST(PthValidation, RejectsFilesThatAreNotArchives) {
  reelforge::testing::TempDir dir;
  std::ofstream(dir / "text.pth") << "not a checkpoint at all";
  EXPECT_NE(open_error(dir / "text.pth", ErrorCategory::Format).find("not a zip archive"),
            std::string::npos);
  std::ofstream(dir / "legacy.pth", std::ios::binary)
      << std::string("\x80\x02\x8a\x0a", 4) << "...";
  EXPECT_NE(open_error(dir / "legacy.pth", ErrorCategory::Unsupported).find("legacy"),
            std::string::npos);
}

TEST(PthValidation, RejectsTruncatedArchivesAndPickles) {
  reelforge::testing::TempDir dir;
  write_archive(dir / "full.pth", kPythonStateDictPickle);
  std::ifstream in(dir / "full.pth", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir / "cut.pth", std::ios::binary) << bytes.substr(0, bytes.size() - 30);
  EXPECT_NE(open_error(dir / "cut.pth", ErrorCategory::Format).find("end-of-central-directory"),
            std::string::npos);
  write_archive(dir / "short_pickle.pth", kPythonStateDictPickle.substr(0, 300));
  EXPECT_NE(open_error(dir / "short_pickle.pth", ErrorCategory::Format).find("data.pkl"),
            std::string::npos);
}
