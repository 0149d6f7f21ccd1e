#include "reelforge/safety/provenance.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"

namespace reelforge::safety {
namespace fs = std::filesystem;
using nlohmann::json;

struct InstallIdentity::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

constexpr const char* kKeyFileName = "ed25519.pem";

std::string to_hex(const unsigned char* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

// False when `hex` is not an even-length lower/upper-case hex string.
bool from_hex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string id_hex(uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

uint32_t parse_id_hex(const std::string& text, const char* field) {
  std::vector<unsigned char> bytes;
  if (text.size() != 8 || !from_hex(text, bytes)) {
    throw Error(ErrorCategory::Format, std::string(field) + " is not 8 hex digits: '" + text + "'");
  }
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         bytes[3];
}

std::array<unsigned char, 32> sha256_raw(const unsigned char* data, size_t size) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data, size, digest.data(), &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    throw Error(ErrorCategory::Internal, "OpenSSL SHA-256 failed");
  }
  return digest;
}

uint32_t id_from_raw_public_key(const unsigned char* raw, size_t size) {
  const std::array<unsigned char, 32> d = sha256_raw(raw, size);
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
}

std::string pem_of(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) throw Error(ErrorCategory::Internal, "OpenSSL: no memory for the key");
  if (PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    throw Error(ErrorCategory::Internal, "OpenSSL could not serialise the new key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

// Writes a new key file with mode 0600 to a temporary and links it into place; false when another
// process linked one first (its key wins and is read back).
bool publish_key_file(const fs::path& path, const std::string& pem) {
  const fs::path temp =
      path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCategory::Io,
                std::string("cannot create the install key: ") + std::strerror(errno),
                temp.string());
  }
  size_t done = 0;
  bool ok = true;
  while (ok && done < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(temp.c_str());
    throw Error(ErrorCategory::Io, "cannot write the install key", temp.string());
  }
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    throw Error(ErrorCategory::Io,
                std::string("cannot install the key file: ") + std::strerror(link_errno),
                path.string());
  }
  const int dir_fd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return linked == 0;
}

EVP_PKEY* read_key_file(const fs::path& path) {
  const std::string pem = read_file(path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) throw Error(ErrorCategory::Internal, "OpenSSL: no memory for the key");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    throw Error(ErrorCategory::Format,
                "the install key is not an Ed25519 private key in PEM; move it away to make a "
                "new identity",
                path.string());
  }
  return pkey;
}

template <typename T>
T field(const json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) {
    throw Error(ErrorCategory::Format,
                std::string("the provenance manifest has no '") + name + "'");
  }
  try {
    return j.at(name).get<T>();
  } catch (const json::exception&) {
    throw Error(ErrorCategory::Format,
                std::string("the provenance manifest's '") + name + "' has the wrong type");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// InstallIdentity

fs::path InstallIdentity::default_dir() {
  return user_data_dir() / "identity";
}

InstallIdentity InstallIdentity::load_or_create(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) {
    throw Error(ErrorCategory::Io, "cannot create the identity folder: " + ec.message(),
                dir.string());
  }
  const fs::path file = dir / kKeyFileName;
  if (!fs::exists(file, ec)) {
    EVP_PKEY* fresh = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!fresh) throw Error(ErrorCategory::Internal, "OpenSSL could not make an Ed25519 key");
    std::string pem;
    try {
      pem = pem_of(fresh);
    } catch (...) {
      EVP_PKEY_free(fresh);
      throw;
    }
    EVP_PKEY_free(fresh);
    publish_key_file(file, pem);
  }
  InstallIdentity identity;
  identity.key_ = std::make_shared<Key>();
  identity.key_->pkey = read_key_file(file);
  std::array<unsigned char, 32> raw{};
  size_t raw_size = raw.size();
  if (EVP_PKEY_get_raw_public_key(identity.key_->pkey, raw.data(), &raw_size) != 1 ||
      raw_size != 32) {
    throw Error(ErrorCategory::Format, "cannot read the public half of the install key",
                file.string());
  }
  identity.public_key_hex_ = to_hex(raw.data(), raw_size);
  identity.install_id_ = id_from_raw_public_key(raw.data(), raw_size);
  identity.key_file_ = file;
  return identity;
}

std::string InstallIdentity::sign(std::string_view message) const {
  RF_CHECK(key_ && key_->pkey, "signing with an empty identity");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::array<unsigned char, 64> sig{};
  size_t sig_size = sig.size();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
      EVP_DigestSign(ctx, sig.data(), &sig_size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw Error(ErrorCategory::Internal, "OpenSSL could not sign the manifest");
  return to_hex(sig.data(), sig_size);
}

uint32_t install_id_from_public_key(std::string_view public_key_hex) {
  std::vector<unsigned char> raw;
  if (!from_hex(public_key_hex, raw) || raw.size() != 32) {
    throw Error(ErrorCategory::Format, "a public key must be 64 hex digits (32 bytes)");
  }
  return id_from_raw_public_key(raw.data(), raw.size());
}

bool verify_signature(std::string_view public_key_hex, std::string_view message,
                      std::string_view signature_hex) {
  std::vector<unsigned char> raw, sig;
  if (!from_hex(public_key_hex, raw) || raw.size() != 32) return false;
  if (!from_hex(signature_hex, sig) || sig.size() != 64) return false;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (!pkey) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx, sig.data(), sig.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Hashes

std::string sha256_file_hex(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCategory::NotFound, "no such file", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::Io, "cannot open the file to hash it", path.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw Error(ErrorCategory::Internal, "OpenSSL SHA-256 failed");
  }
  std::vector<char> buffer(1 << 20);
  bool ok = true;
  while (ok && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) ok = EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(n)) == 1;
  }
  const bool read_failed = in.bad();
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (read_failed) throw Error(ErrorCategory::Io, "reading the file failed", path.string());
  if (!ok) throw Error(ErrorCategory::Internal, "OpenSSL SHA-256 failed");
  return to_hex(digest.data(), len);
}

std::string model_hash(const fs::path& model_dir) {
  std::string text = read_file(model_dir / "model.json");
  std::vector<std::pair<std::string, uintmax_t>> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(model_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string rel = fs::relative(it->path(), model_dir).generic_string();
    if (rel == "model.json") continue;
    files.emplace_back(rel, it->file_size(ec));
  }
  if (ec)
    throw Error(ErrorCategory::Io, "cannot list the model folder: " + ec.message(),
                model_dir.string());
  std::sort(files.begin(), files.end());
  for (const auto& [name, size] : files) text += name + "\t" + std::to_string(size) + "\n";
  const std::array<unsigned char, 32> d =
      sha256_raw(reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return to_hex(d.data(), d.size());
}

std::string utc_now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint32_t new_generation_id() {
  std::random_device rd;
  uint32_t id = 0;
  while (id == 0) id = static_cast<uint32_t>(rd());
  return id;
}

// ---------------------------------------------------------------------------------------------
// ProvenanceManifest

json ProvenanceManifest::to_json(bool with_signature) const {
  json prompts_json = json::array();
  for (const ProvenancePrompt& p : prompts) {
    prompts_json.push_back({{"shot", p.shot}, {"prompt", p.prompt}, {"seeds", p.seeds}});
  }
  json inputs_json = json::array();
  for (const ProvenanceInput& i : inputs) {
    inputs_json.push_back(
        {{"kind", i.kind}, {"shot", i.shot}, {"file", i.file}, {"sha256", i.sha256}});
  }
  json j = {{"format", "reelforge-provenance"},
            {"format_version", kFormatVersion},
            {"content_sha256", content_sha256},
            {"created", created},
            {"generator", generator},
            {"generator_version", generator_version},
            {"ai_generated", ai_generated},
            {"model", {{"name", model_name}, {"hash", model_hash}}},
            {"seed", seed},
            {"prompts", prompts_json},
            {"storyboard_sha256", storyboard_sha256},
            {"inputs", inputs_json},
            {"install_id", id_hex(install_id)},
            {"generation_id", id_hex(generation_id)},
            {"partial", partial},
            {"public_key", public_key}};
  if (with_signature) j["signature"] = signature;
  return j;
}

ProvenanceManifest ProvenanceManifest::from_json(const json& j) {
  if (!j.is_object() || j.value("format", "") != "reelforge-provenance") {
    throw Error(ErrorCategory::Format, "not a ReelForge provenance manifest");
  }
  const int version = field<int>(j, "format_version");
  if (version != kFormatVersion) {
    throw Error(ErrorCategory::Format, "provenance format_version " + std::to_string(version) +
                                           " is not supported (this build reads " +
                                           std::to_string(kFormatVersion) + ")");
  }
  ProvenanceManifest m;
  m.content_sha256 = field<std::string>(j, "content_sha256");
  m.created = field<std::string>(j, "created");
  m.generator = field<std::string>(j, "generator");
  m.generator_version = field<std::string>(j, "generator_version");
  m.ai_generated = field<bool>(j, "ai_generated");
  const json model = field<json>(j, "model");
  m.model_name = field<std::string>(model, "name");
  m.model_hash = field<std::string>(model, "hash");
  m.seed = field<uint64_t>(j, "seed");
  for (const json& p : field<json>(j, "prompts")) {
    m.prompts.push_back({field<std::string>(p, "shot"), field<std::string>(p, "prompt"),
                         field<std::vector<uint64_t>>(p, "seeds")});
  }
  m.storyboard_sha256 = field<std::string>(j, "storyboard_sha256");
  for (const json& i : field<json>(j, "inputs")) {
    m.inputs.push_back({field<std::string>(i, "kind"), field<std::string>(i, "shot"),
                        field<std::string>(i, "file"), field<std::string>(i, "sha256")});
  }
  m.install_id = parse_id_hex(field<std::string>(j, "install_id"), "install_id");
  m.generation_id = parse_id_hex(field<std::string>(j, "generation_id"), "generation_id");
  m.partial = field<bool>(j, "partial");
  m.public_key = field<std::string>(j, "public_key");
  m.signature = field<std::string>(j, "signature");
  return m;
}

ProvenanceManifest ProvenanceManifest::load(const fs::path& path) {
  const std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(ErrorCategory::Format, std::string("not valid JSON: ") + e.what(), path.string());
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw Error(e.category(), e.message(), path.string());
  }
}

std::string ProvenanceManifest::canonical() const {
  // nlohmann's object is a std::map: keys come out sorted at every level.
  return to_json(false).dump(-1, ' ', false, json::error_handler_t::replace);
}

void ProvenanceManifest::sign(const InstallIdentity& identity) {
  public_key = identity.public_key_hex();
  install_id = identity.install_id();
  signature = identity.sign(canonical());
}

void ProvenanceManifest::write(const fs::path& path) const {
  write_file_atomic(path, to_json().dump(2) + "\n");
}

fs::path provenance_path(const fs::path& clip) {
  fs::path p = clip;
  p += ".provenance.json";
  return p;
}

ProvenanceCheck check_provenance(const ProvenanceManifest& manifest, const fs::path& clip) {
  ProvenanceCheck c;
  c.signature_valid =
      verify_signature(manifest.public_key, manifest.canonical(), manifest.signature);
  // The install id is not trusted from the file: it must be the key's.
  if (c.signature_valid) {
    c.signature_valid = install_id_from_public_key(manifest.public_key) == manifest.install_id;
  }
  c.clip_sha256 = sha256_file_hex(clip);
  c.content_matches = c.clip_sha256 == manifest.content_sha256;
  return c;
}

}  // namespace reelforge::safety
