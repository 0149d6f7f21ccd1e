#include "reelforge/models/manifest.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace reelforge::models {
namespace {

constexpr const char* kFormat = "reelforge.model";

// Reads one JSON object strictly: every access names its JSON pointer in errors, and finish()
// rejects keys nobody asked for (a misspelt key is an error, not a silent default).
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail(path_, "must be an object");
  }

  [[noreturn]] static void fail(const std::string& path, const std::string& message) {
    throw Error(ErrorCategory::Validation, message, path.empty() ? "/" : path);
  }

  const json* get(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string at(const std::string& key) const { return path_ + "/" + key; }

  std::string string(const std::string& key, std::optional<std::string> fallback = std::nullopt) {
    const json* v = get(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      fail(at(key), "is required");
    }
    if (!v->is_string()) fail(at(key), "must be a string");
    return v->get<std::string>();
  }
  double number(const std::string& key, double fallback, double min, double max) {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(at(key), "must be a number");
    const double x = v->get<double>();
    if (x < min || x > max) {
      fail(at(key), std::to_string(x) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
    }
    return x;
  }
  int integer(const std::string& key, int fallback, int min, int max) {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer()) fail(at(key), "must be a whole number");
    const long long x = v->get<long long>();
    if (x < min || x > max) {
      fail(at(key), std::to_string(x) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
    }
    return int(x);
  }
  std::vector<std::string> strings(const std::string& key) {
    const json* v = get(key);
    if (v == nullptr) return {};
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array()) fail(at(key), "must be a string or a list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) fail(at(key) + "/" + std::to_string(i), "must be a string");
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }
  std::vector<double> numbers(const std::string& key) {
    const json* v = get(key);
    if (v == nullptr) return {};
    if (!v->is_array()) fail(at(key), "must be a list of numbers");
    std::vector<double> out;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_number()) fail(at(key) + "/" + std::to_string(i), "must be a number");
      out.push_back((*v)[i].get<double>());
    }
    return out;
  }
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) fail(at(it.key()), "unknown field");
    }
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

Task parse_task(const std::string& s, const std::string& path) {
  if (s == "t2v") return Task::TextToVideo;
  if (s == "i2v") return Task::ImageToVideo;
  if (s == "v2v") return Task::VideoToVideo;
  ObjectReader::fail(path, "unknown task '" + s + "'; valid: t2v, i2v, v2v");
}

void check_relative(const std::vector<std::string>& files, const std::string& path) {
  for (size_t i = 0; i < files.size(); ++i) {
    const fs::path p(files[i]);
    if (files[i].empty() || p.is_absolute()) {
      ObjectReader::fail(path + "/" + std::to_string(i), "must be a path relative to the model folder");
    }
    for (const auto& part : p) {
      if (part == "..") ObjectReader::fail(path + "/" + std::to_string(i), "must stay inside the model folder");
    }
  }
}

}  // namespace

const char* to_string(Task task) {
  switch (task) {
    case Task::TextToVideo: return "t2v";
    case Task::ImageToVideo: return "i2v";
    case Task::VideoToVideo: return "v2v";
  }
  return "?";
}

bool ModelManifest::supports(Task task) const {
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

std::vector<std::string> ModelManifest::missing_files() const {
  std::vector<std::string> missing;
  auto check = [&](const std::vector<std::string>& files) {
    for (const auto& f : files) {
      std::error_code ec;
      if (!fs::exists(dir / f, ec)) missing.push_back(f);
    }
  };
  check(dit.files);
  check(text_encoder.files);
  if (!text_encoder.tokenizer.empty()) check({text_encoder.tokenizer});
  check(vae.files);
  return missing;
}

ModelManifest ModelManifest::from_json(const json& j, const fs::path& dir) {
  ObjectReader root(j, "");
  if (root.string("format") != kFormat) ObjectReader::fail("/format", std::string("must be \"") + kFormat + "\"");
  const int version = root.integer("version", -1, 0, 1 << 20);
  if (version != kFormatVersion) {
    ObjectReader::fail("/version", "version " + std::to_string(version) + " is not supported; this build reads version " +
                                       std::to_string(kFormatVersion));
  }
  ModelManifest m;
  m.dir = dir;
  m.name = root.string("name");
  if (m.name.empty() || m.name.find_first_of(" /\\\t\n") != std::string::npos) {
    ObjectReader::fail("/name", "must be a non-empty id without spaces or slashes");
  }
  m.display_name = root.string("display_name", m.name);
  m.family = root.string("family");
  if (m.family != "wan") ObjectReader::fail("/family", "unknown family '" + m.family + "'; valid: wan");
  m.variant = root.string("variant");
  m.license = root.string("license", "");
  const auto tasks = root.strings("tasks");
  if (tasks.empty()) ObjectReader::fail("/tasks", "must list at least one task (t2v, i2v, v2v)");
  for (size_t i = 0; i < tasks.size(); ++i) m.tasks.push_back(parse_task(tasks[i], "/tasks/" + std::to_string(i)));

  const json* components = root.get("components");
  if (components == nullptr) ObjectReader::fail("/components", "is required");
  ObjectReader comp(*components, "/components");
  if (const json* d = comp.get("dit")) {
    ObjectReader r(*d, "/components/dit");
    m.dit.files = r.strings("files");
    check_relative(m.dit.files, "/components/dit/files");
    m.dit.model_type = r.string("model_type", std::string("t2v"));
    if (m.dit.model_type != "t2v" && m.dit.model_type != "ti2v") {
      ObjectReader::fail("/components/dit/model_type", "must be \"t2v\" or \"ti2v\"");
    }
    if (r.get("num_heads") != nullptr) m.dit.num_heads = r.integer("num_heads", 0, 1, 1024);
    m.dit.prediction = r.string("prediction", std::string("velocity"));
    if (m.dit.prediction != "velocity" && m.dit.prediction != "clean") {
      ObjectReader::fail("/components/dit/prediction", "must be \"velocity\" or \"clean\"");
    }
    r.finish();
  } else {
    ObjectReader::fail("/components/dit", "is required");
  }
  if (const json* t = comp.get("text_encoder")) {
    ObjectReader r(*t, "/components/text_encoder");
    m.text_encoder.files = r.strings("files");
    check_relative(m.text_encoder.files, "/components/text_encoder/files");
    m.text_encoder.tokenizer = r.string("tokenizer");
    check_relative({m.text_encoder.tokenizer}, "/components/text_encoder/tokenizer");
    m.text_encoder.text_len = r.integer("text_len", 512, 2, 4096);
    r.finish();
  } else {
    ObjectReader::fail("/components/text_encoder", "is required");
  }
  if (const json* v = comp.get("vae")) {
    ObjectReader r(*v, "/components/vae");
    m.vae.files = r.strings("files");
    check_relative(m.vae.files, "/components/vae/files");
    m.vae.version = r.string("version", std::string("2.1"));
    if (m.vae.version != "2.1" && m.vae.version != "2.2") {
      ObjectReader::fail("/components/vae/version", "must be \"2.1\" or \"2.2\"");
    }
    m.vae.latent_mean = r.numbers("latent_mean");
    m.vae.latent_std = r.numbers("latent_std");
    if (m.vae.latent_mean.size() != m.vae.latent_std.size()) {
      ObjectReader::fail("/components/vae/latent_std", "must have as many entries as latent_mean");
    }
    for (size_t i = 0; i < m.vae.latent_std.size(); ++i) {
      if (!(m.vae.latent_std[i] > 0)) {
        ObjectReader::fail("/components/vae/latent_std/" + std::to_string(i), "must be positive");
      }
    }
    if (const json* p = r.get("preview")) {
      ObjectReader pr(*p, "/components/vae/preview");
      m.vae.preview_bias = pr.numbers("bias");
      const json* rows = pr.get("weight");
      if (rows == nullptr || !rows->is_array() || rows->size() != 3) {
        ObjectReader::fail("/components/vae/preview/weight", "must be 3 rows (R, G, B)");
      }
      for (size_t i = 0; i < 3; ++i) {
        const json& row = (*rows)[i];
        std::vector<double> values;
        if (row.is_array()) {
          for (const json& x : row) {
            if (!x.is_number()) break;
            values.push_back(x.get<double>());
          }
        }
        if (values.empty() || values.size() != row.size() ||
            (!m.vae.latent_mean.empty() && values.size() != m.vae.latent_mean.size())) {
          ObjectReader::fail("/components/vae/preview/weight/" + std::to_string(i),
                             "must be one number per latent channel");
        }
        m.vae.preview_weight.push_back(std::move(values));
      }
      if (m.vae.preview_bias.size() != 3) {
        ObjectReader::fail("/components/vae/preview/bias", "must be 3 numbers (R, G, B)");
      }
      pr.finish();
    }
    r.finish();
  } else {
    ObjectReader::fail("/components/vae", "is required");
  }
  comp.finish();

  if (const json* n = root.get("native")) {
    ObjectReader r(*n, "/native");
    m.fps = r.number("fps", 16, 1, 120);
    m.frame_count = r.integer("frame_count", 81, 1, 100000);
    if ((m.frame_count - 1) % 4 != 0) {
      const int lower = 1 + (m.frame_count - 1) / 4 * 4;
      ObjectReader::fail("/native/frame_count", "frame count " + std::to_string(m.frame_count) +
                                                    " is not 1 + 4k; nearest valid: " + std::to_string(lower) +
                                                    " or " + std::to_string(lower + 4));
    }
    if (const json* sizes = r.get("sizes")) {
      ObjectReader s(*sizes, "/native/sizes");
      for (const char* aspect : {"wide", "vertical", "square"}) {
        const json* wh = s.get(aspect);
        if (wh == nullptr) continue;
        const std::string path = std::string("/native/sizes/") + aspect;
        if (!wh->is_array() || wh->size() != 2 || !(*wh)[0].is_number_integer() || !(*wh)[1].is_number_integer()) {
          ObjectReader::fail(path, "must be [width, height] in pixels");
        }
        NativeSize size{(*wh)[0].get<int>(), (*wh)[1].get<int>()};
        if (size.width_px < 16 || size.height_px < 16 || size.width_px > 8192 || size.height_px > 8192) {
          ObjectReader::fail(path, "size must be 16..8192 pixels per side");
        }
        m.native_sizes[aspect] = size;
      }
      s.finish();
    }
    r.finish();
  }
  if (m.native_sizes.empty()) ObjectReader::fail("/native/sizes", "must give at least one of wide, vertical, square");

  if (const json* d = root.get("defaults")) {
    ObjectReader r(*d, "/defaults");
    m.defaults.steps = r.integer("steps", 50, 1, 1000);
    m.defaults.shift = r.number("shift", 5.0, 0.01, 100);
    m.defaults.guidance = r.number("guidance", 5.0, 0, 100);
    m.defaults.solver = r.string("solver", std::string("unipc"));
    if (m.defaults.solver != "unipc" && m.defaults.solver != "dpm++" && m.defaults.solver != "euler") {
      ObjectReader::fail("/defaults/solver", "must be one of unipc, dpm++, euler");
    }
    m.defaults.negative_prompt = r.string("negative_prompt", std::string());
    r.finish();
  }
  root.finish();
  return m;
}

ModelManifest ModelManifest::load(const fs::path& dir) {
  const fs::path file = dir / "model.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(ErrorCategory::NotFound, "no model.json in the model folder", dir.string());
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    throw Error(ErrorCategory::Validation, std::string("not valid JSON: ") + e.what(), file.string());
  }
  try {
    return from_json(j, dir);
  } catch (const Error& e) {
    throw Error(e.category(), e.message(), file.string() + ": " + e.context());
  }
}

json ModelManifest::to_json() const {
  json j = json::object();
  j["format"] = kFormat;
  j["version"] = kFormatVersion;
  j["name"] = name;
  j["display_name"] = display_name;
  j["family"] = family;
  j["variant"] = variant;
  if (!license.empty()) j["license"] = license;
  j["tasks"] = json::array();
  for (Task t : tasks) j["tasks"].push_back(to_string(t));
  json dit_j = {{"files", dit.files}, {"model_type", dit.model_type}};
  if (dit.num_heads) dit_j["num_heads"] = *dit.num_heads;
  // Written only when it is not Wan's own, so the manifests of velocity models stay as they were.
  if (dit.prediction != "velocity") dit_j["prediction"] = dit.prediction;
  json vae_j = {{"files", vae.files}, {"version", vae.version}};
  if (!vae.latent_mean.empty()) {
    vae_j["latent_mean"] = vae.latent_mean;
    vae_j["latent_std"] = vae.latent_std;
  }
  if (!vae.preview_weight.empty()) {
    vae_j["preview"] = {{"weight", vae.preview_weight}, {"bias", vae.preview_bias}};
  }
  j["components"] = {{"dit", dit_j},
                     {"text_encoder",
                      {{"files", text_encoder.files},
                       {"tokenizer", text_encoder.tokenizer},
                       {"text_len", text_encoder.text_len}}},
                     {"vae", vae_j}};
  json sizes = json::object();
  for (const auto& [aspect, size] : native_sizes) sizes[aspect] = {size.width_px, size.height_px};
  j["native"] = {{"fps", fps}, {"frame_count", frame_count}, {"sizes", sizes}};
  j["defaults"] = {{"steps", defaults.steps},
                   {"shift", defaults.shift},
                   {"guidance", defaults.guidance},
                   {"solver", defaults.solver}};
  if (!defaults.negative_prompt.empty()) {
    j["defaults"]["negative_prompt"] = defaults.negative_prompt;
  }
  return j;
}

void ModelManifest::save() const { write_file_atomic(dir / "model.json", to_json().dump(2) + "\n"); }

}  // namespace reelforge::models
