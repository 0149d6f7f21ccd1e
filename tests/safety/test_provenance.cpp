// Provenance: the install identity on disk, Ed25519 signatures over the canonical manifest, and
// the verdicts of verify_clip on real clips (marked/unmarked, signed/modified).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/video_writer.hpp"
#include "reelforge/safety/provenance.hpp"
#include "reelforge/safety/verify.hpp"
#include "reelforge/safety/watermark.hpp"
#include "support/testing.hpp"

namespace reelforge::safety {
namespace {
namespace fs = std::filesystem;
using reelforge::testing::TempDir;

ProvenanceManifest sample_manifest() {
  ProvenanceManifest m;
  m.content_sha256 = std::string(64, 'a');
  m.created = "2026-11-25T14:30:00Z";
  m.generator = "ReelForge";
  m.generator_version = "0.1.0";
  m.model_name = "tiny";
  m.model_hash = std::string(64, 'b');
  m.seed = 42;
  m.prompts = {{"shot-1", "a red ball rolls left", {1, 2}}, {"shot-2", "海上的日落", {3}}};
  m.storyboard_sha256 = std::string(64, 'c');
  m.inputs = {{"keyframe", "shot-2", "key.png", std::string(64, 'd')}};
  m.generation_id = 0x12345678;
  return m;
}

TEST(InstallIdentity, CreatedOnceWithAPrivateKeyFileAndReloadedTheSame) {
  TempDir tmp;
  const InstallIdentity a = InstallIdentity::load_or_create(tmp / "id");
  ASSERT_TRUE(fs::exists(a.key_file()));
  struct stat st {};
  ASSERT_EQ(::stat(a.key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(a.public_key_hex().size(), 64u);
  EXPECT_EQ(a.install_id(), install_id_from_public_key(a.public_key_hex()));
  // Nothing but the key file is left in the folder (no temporary).
  int entries = 0;
  for (const auto& e : fs::directory_iterator(tmp / "id")) ++entries, (void)e;
  EXPECT_EQ(entries, 1);

  const InstallIdentity b = InstallIdentity::load_or_create(tmp / "id");
  EXPECT_EQ(b.public_key_hex(), a.public_key_hex());
  EXPECT_EQ(b.install_id(), a.install_id());
  const InstallIdentity other = InstallIdentity::load_or_create(tmp / "other");
  EXPECT_NE(other.public_key_hex(), a.public_key_hex());

  // The default folder follows the user data folder's override.
  testing::ScopedEnv env("REELFORGE_DATA", (tmp / "data").string());
  EXPECT_EQ(InstallIdentity::default_dir(), tmp / "data" / "identity");
}

TEST(InstallIdentity, AGarbledKeyFileIsAFormatErrorNamingIt) {
  TempDir tmp;
  fs::create_directories(tmp / "id");
  write_file_atomic(tmp / "id" / "ed25519.pem", "not a key\n");
  try {
    InstallIdentity::load_or_create(tmp / "id");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(e.context().find("ed25519.pem"), std::string::npos);
  }
}

TEST(Signature, VerifiesOnlyTheSignedMessageWithTheSigningKey) {
  TempDir tmp;
  const InstallIdentity id = InstallIdentity::load_or_create(tmp / "id");
  const InstallIdentity other = InstallIdentity::load_or_create(tmp / "other");
  const std::string sig = id.sign("hello");
  EXPECT_EQ(sig.size(), 128u);
  EXPECT_TRUE(verify_signature(id.public_key_hex(), "hello", sig));
  EXPECT_FALSE(verify_signature(id.public_key_hex(), "hellp", sig));
  EXPECT_FALSE(verify_signature(other.public_key_hex(), "hello", sig));
  std::string flipped = sig;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_FALSE(verify_signature(id.public_key_hex(), "hello", flipped));
  EXPECT_FALSE(verify_signature("zz", "hello", sig));
  EXPECT_FALSE(verify_signature(id.public_key_hex(), "hello", "abc"));
}

TEST(ProvenanceManifest, RoundTripsAndAnyChangedFieldBreaksTheSignature) {
  TempDir tmp;
  const InstallIdentity id = InstallIdentity::load_or_create(tmp / "id");
  ProvenanceManifest m = sample_manifest();
  m.sign(id);
  EXPECT_EQ(m.install_id, id.install_id());
  EXPECT_EQ(m.public_key, id.public_key_hex());
  EXPECT_TRUE(verify_signature(m.public_key, m.canonical(), m.signature));
  // The canonical form has no signature, sorted keys and no spaces.
  const std::string canonical = m.canonical();
  EXPECT_EQ(canonical.find("\"signature\""), std::string::npos);
  EXPECT_LT(canonical.find("\"ai_generated\""), canonical.find("\"content_sha256\""));
  EXPECT_EQ(canonical.find(": "), std::string::npos);

  m.write(tmp / "m.json");
  const ProvenanceManifest back = ProvenanceManifest::load(tmp / "m.json");
  EXPECT_EQ(back.canonical(), m.canonical());
  EXPECT_EQ(back.signature, m.signature);
  EXPECT_EQ(back.prompts.at(1).prompt, "海上的日落");
  EXPECT_EQ(back.generation_id, 0x12345678u);
  EXPECT_TRUE(verify_signature(back.public_key, back.canonical(), back.signature));

  // Edits of the file, field by field.
  const nlohmann::json original = nlohmann::json::parse(read_file(tmp / "m.json"));
  for (const char* path : {"/seed", "/prompts/0/prompt", "/model/hash", "/generation_id",
                           "/created", "/inputs/0/sha256", "/partial"}) {
    nlohmann::json j = original;
    const nlohmann::json::json_pointer ptr(path);
    nlohmann::json& v = j[ptr];
    if (v.is_number())
      v = v.get<uint64_t>() + 1;
    else if (v.is_boolean())
      v = !v.get<bool>();
    else if (std::string(path) == "/generation_id")
      v = "12345679";
    else
      v = v.get<std::string>() + "x";
    const ProvenanceManifest edited = ProvenanceManifest::from_json(j);
    EXPECT_FALSE(verify_signature(edited.public_key, edited.canonical(), edited.signature)) << path;
  }
  // A manifest re-signed by another key under the first key's install id is caught too.
  nlohmann::json forged = original;
  const InstallIdentity other = InstallIdentity::load_or_create(tmp / "other");
  ProvenanceManifest f = ProvenanceManifest::from_json(forged);
  f.public_key = other.public_key_hex();
  write_file_atomic(tmp / "clip.bin", "clip");
  f.content_sha256 = sha256_file_hex(tmp / "clip.bin");
  f.signature = other.sign(f.canonical());  // install_id is still the first key's
  EXPECT_TRUE(verify_signature(f.public_key, f.canonical(), f.signature));
  EXPECT_FALSE(check_provenance(f, tmp / "clip.bin").signature_valid);
}

TEST(ProvenanceManifest, MissingFieldsAreFormatErrors) {
  nlohmann::json j = sample_manifest().to_json();
  j.erase("content_sha256");
  EXPECT_THROW(ProvenanceManifest::from_json(j), Error);
  EXPECT_THROW(ProvenanceManifest::from_json(nlohmann::json::object()), Error);
  nlohmann::json bad_id = sample_manifest().to_json();
  bad_id["install_id"] = "xyz";
  EXPECT_THROW(ProvenanceManifest::from_json(bad_id), Error);
}

TEST(Hashes, FileAndModelHashes) {
  TempDir tmp;
  write_file_atomic(tmp / "abc.txt", "abc");
  EXPECT_EQ(sha256_file_hex(tmp / "abc.txt"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file_hex(tmp / "missing"), Error);

  fs::create_directories(tmp / "model" / "sub");
  write_file_atomic(tmp / "model" / "model.json", "{\"name\": \"m\"}");
  write_file_atomic(tmp / "model" / "dit.safetensors", "0123456789");
  write_file_atomic(tmp / "model" / "sub" / "vae.safetensors", "01234");
  const std::string h = model_hash(tmp / "model");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(model_hash(tmp / "model"), h);
  write_file_atomic(tmp / "model" / "dit.safetensors", "012345678");  // resized
  EXPECT_NE(model_hash(tmp / "model"), h);
}

// A 1 s 320x180 clip of moving texture, marked or not, and its signed manifest.
void write_clip(const fs::path& path, bool marked, const WatermarkPayload& payload) {
  media::VideoWriterOptions o;
  o.size = {320, 180};
  o.fps = {24, 1};
  o.preset = "ultrafast";
  o.crf = 18;
  media::VideoWriter writer(path, o);
  WatermarkEmbedder embedder(kWatermarkKey);
  for (int i = 0; i < 24; ++i) {
    cv::Mat f(180, 320, CV_8UC3, cv::Scalar(90, 120, 150));
    cv::circle(f, {40 + 8 * i, 90}, 40, cv::Scalar(220, 60, 40), cv::FILLED);
    cv::rectangle(f, {200, 20}, {300, 70}, cv::Scalar(30, 200, 90), cv::FILLED);
    if (marked) embedder.embed(f, payload);
    writer.write(f);
  }
  writer.finish();
}

TEST(VerifyClip, TellsIntactModifiedWatermarkOnlyAndNothingApart) {
  TempDir tmp;
  const InstallIdentity id = InstallIdentity::load_or_create(tmp / "id");
  const WatermarkPayload payload{id.install_id(), 0xCAFEF00D};
  write_clip(tmp / "marked.mp4", true, payload);
  ProvenanceManifest m = sample_manifest();
  m.content_sha256 = sha256_file_hex(tmp / "marked.mp4");
  m.generation_id = payload.generation_id;
  m.sign(id);
  m.write(provenance_path(tmp / "marked.mp4"));

  VerifyReport r = verify_clip(tmp / "marked.mp4");
  EXPECT_EQ(r.verdict, VerifyVerdict::SignedAndIntact) << r.manifest_problem;
  EXPECT_TRUE(r.watermark.found);
  EXPECT_EQ(r.watermark.payload, payload);
  ASSERT_TRUE(r.ids_match.has_value());
  EXPECT_TRUE(*r.ids_match);
  EXPECT_EQ(r.watermark.frames, 24);

  // One byte changed near the end of the file: still decodable, no longer the signed file.
  fs::copy_file(tmp / "marked.mp4", tmp / "modified.mp4");
  fs::copy_file(provenance_path(tmp / "marked.mp4"), provenance_path(tmp / "modified.mp4"));
  {
    std::fstream f(tmp / "modified.mp4", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-200, std::ios::end);
    f.put('\x5a');
  }
  r = verify_clip(tmp / "modified.mp4");
  EXPECT_EQ(r.verdict, VerifyVerdict::SignedButModified);
  EXPECT_TRUE(r.check.signature_valid);
  EXPECT_FALSE(r.check.content_matches);

  // An edited manifest: its signature fails, the mark remains.
  nlohmann::json j = nlohmann::json::parse(read_file(provenance_path(tmp / "marked.mp4")));
  j["model"]["name"] = "something else";
  write_file_atomic(tmp / "edited.json", j.dump());
  VerifyOptions o;
  o.manifest = tmp / "edited.json";
  r = verify_clip(tmp / "marked.mp4", o);
  EXPECT_EQ(r.verdict, VerifyVerdict::WatermarkOnly);
  EXPECT_FALSE(r.manifest_problem.empty());

  // No manifest, no mark.
  write_clip(tmp / "plain.mp4", false, payload);
  r = verify_clip(tmp / "plain.mp4");
  EXPECT_EQ(r.verdict, VerifyVerdict::NothingFound);
  EXPECT_FALSE(r.manifest_found);
  EXPECT_FALSE(r.watermark.found);
  EXPECT_THROW(verify_clip(tmp / "missing.mp4"), Error);
}

}  // namespace
}  // namespace reelforge::safety
