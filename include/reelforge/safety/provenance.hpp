#pragma once
// Provenance: who made a clip, from what, and whether it is still the file that was made.
//
// Each install has an Ed25519 key pair (InstallIdentity), created on first use in the user data
// folder. Every render writes a signed ProvenanceManifest beside its clip
// (`<clip>.provenance.json`): the clip's SHA-256, creation time, generator, model and its hash,
// seeds, prompts, the storyboard's hash, the hashes of its inputs (keyframes, source clips), the
// generation id and the public key. The signature covers a canonical serialisation (the manifest
// without its signature, keys sorted, no spaces), so any change to a field or to the clip shows.
// The public key travels in the manifest: a valid signature proves the manifest is unchanged since
// that key signed it, not who holds the key.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace reelforge::safety {

// The watermark key of every ReelForge render. It is public on purpose: anyone with ReelForge can
// read the mark of any clip (and so learn its install id), which is what `reelforge verify` needs.
constexpr std::string_view kWatermarkKey = "reelforge/watermark/v1";

// An install's Ed25519 key pair. Cheap to copy (the key is shared).
class InstallIdentity {
 public:
  // `user_data_dir()/identity`.
  static std::filesystem::path default_dir();
  // Loads `dir/ed25519.pem`, creating the key pair on first use: the private key is written with
  // mode 0600 to a temporary and linked into place, so a reader never sees half a key and two
  // processes starting at once end up with the same key. Error(Io) / Error(Format) naming the file.
  static InstallIdentity load_or_create(const std::filesystem::path& dir = default_dir());

  // Lower-case hex of the raw 32-byte public key.
  const std::string& public_key_hex() const { return public_key_hex_; }
  // The first 32 bits (big-endian) of the SHA-256 of the raw public key: the watermark's id.
  uint32_t install_id() const { return install_id_; }
  // Lower-case hex of the 64-byte Ed25519 signature of `message`.
  std::string sign(std::string_view message) const;
  const std::filesystem::path& key_file() const { return key_file_; }

 private:
  struct Key;
  std::shared_ptr<Key> key_;
  std::string public_key_hex_;
  uint32_t install_id_ = 0;
  std::filesystem::path key_file_;
};

// install_id() for a public key given in hex; Error(Format) when it is not 32 bytes of hex.
uint32_t install_id_from_public_key(std::string_view public_key_hex);
// Whether `signature_hex` is a valid Ed25519 signature of `message` by `public_key_hex`. False
// (never an exception) for malformed hex or a key that is not a valid point.
bool verify_signature(std::string_view public_key_hex, std::string_view message,
                      std::string_view signature_hex);

// Lower-case hex SHA-256 of a file's bytes, streamed. Error(NotFound) / Error(Io) naming it.
std::string sha256_file_hex(const std::filesystem::path& path);

// The model's identity for provenance: SHA-256 over model.json's bytes followed by one line
// "<relative path>\t<size in bytes>\n" for every other regular file of the model folder, sorted
// by path. Weight contents are not read (tens of GB); a renamed, resized, added or removed file
// or any edit of model.json changes the hash.
std::string model_hash(const std::filesystem::path& model_dir);

// Now, UTC, ISO 8601 to the second ("2026-11-25T14:30:00Z").
std::string utc_now_iso8601();

// A random 32-bit generation id (never 0) for one render.
uint32_t new_generation_id();

struct ProvenancePrompt {
  std::string shot;             // the shot's id
  std::string prompt;           // the positive prompt as sampled
  std::vector<uint64_t> seeds;  // one per sampling window
};

struct ProvenanceInput {
  std::string kind;  // "keyframe" or "source_video"
  std::string shot;  // the shot that uses it
  std::string file;  // its file name (not the full path: folders can be private)
  std::string sha256;
};

struct ProvenanceManifest {
  static constexpr int kFormatVersion = 1;
  std::string content_sha256;  // of the clip file
  std::string created;         // UTC, ISO 8601 ("2026-11-25T14:30:00Z")
  std::string generator;       // "ReelForge"
  std::string generator_version;
  bool ai_generated = true;
  std::string model_name;
  std::string model_hash;  // model_hash() of its folder
  uint64_t seed = 0;       // the storyboard's project seed
  std::vector<ProvenancePrompt> prompts;
  std::string storyboard_sha256;  // of the storyboard's JSON text as rendered
  std::vector<ProvenanceInput> inputs;
  uint32_t install_id = 0;
  uint32_t generation_id = 0;
  bool partial = false;    // a partial delivery of an unfinished job
  std::string public_key;  // hex, the signer's
  std::string signature;   // hex; empty until signed

  // The JSON form; ids as 8-digit hex strings. `with_signature` false gives what is signed.
  nlohmann::json to_json(bool with_signature = true) const;
  // Error(Format) naming the missing or mistyped field.
  static ProvenanceManifest from_json(const nlohmann::json& json);
  static ProvenanceManifest load(const std::filesystem::path& path);
  // The bytes the signature covers: to_json(false) dumped compactly with sorted keys.
  std::string canonical() const;
  // Sets public_key and signature.
  void sign(const InstallIdentity& identity);
  // Writes the manifest (pretty-printed) atomically.
  void write(const std::filesystem::path& path) const;
};

// `<clip>.provenance.json` beside the clip.
std::filesystem::path provenance_path(const std::filesystem::path& clip);

struct ProvenanceCheck {
  bool signature_valid = false;  // the signature matches the manifest and its public key
  bool content_matches = false;  // the clip's SHA-256 is the manifest's
  std::string clip_sha256;
};

// Checks the signature and the clip's hash against the manifest.
ProvenanceCheck check_provenance(const ProvenanceManifest& manifest,
                                 const std::filesystem::path& clip);

}  // namespace reelforge::safety
