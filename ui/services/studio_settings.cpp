#include "services/studio_settings.hpp"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#include <filesystem>
#include <vector>

#include "reelforge/models/registry.hpp"

namespace {

constexpr char kModelFolders[] = "models/folders";
constexpr char kDefaultModel[] = "models/default";
constexpr char kOutputFolder[] = "output/folder";
constexpr char kDevice[] = "compute/device";
constexpr char kThreads[] = "compute/threads";
constexpr char kMemoryMode[] = "compute/memory";
constexpr char kModerationPolicy[] = "safety/moderation_policy";

QString defaultOutputFolder() {
  QString movies = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
  if (movies.isEmpty()) movies = QDir::homePath();
  return QDir(movies).filePath(QStringLiteral("ReelForge"));
}

// Values come from a file a user can edit: anything unknown falls back to "auto" rather than
// reaching the core as an error at render time.
QString oneOf(const QString& value, std::initializer_list<const char*> valid) {
  for (const char* v : valid) {
    if (value == QLatin1String(v)) return value;
  }
  return QStringLiteral("auto");
}

}  // namespace

StudioSettings::StudioSettings(QObject* parent)
    : QObject(parent),
      settings_(
          std::make_unique<QSettings>(QStringLiteral("ReelForge"), QStringLiteral("Studio"))) {
  applyModelFolders();
}

StudioSettings::StudioSettings(const QString& iniPath, QObject* parent)
    : QObject(parent), settings_(std::make_unique<QSettings>(iniPath, QSettings::IniFormat)) {
  applyModelFolders();
}

StudioSettings::~StudioSettings() = default;

QStringList StudioSettings::modelFolders() const {
  return settings_->value(kModelFolders).toStringList();
}

void StudioSettings::setModelFolders(const QStringList& folders) {
  if (folders == modelFolders()) return;
  settings_->setValue(kModelFolders, folders);
  applyModelFolders();
  emit changed();
}

QString StudioSettings::outputFolder() const {
  return settings_->value(kOutputFolder, defaultOutputFolder()).toString();
}

void StudioSettings::setOutputFolder(const QString& folder) {
  if (folder == outputFolder()) return;
  settings_->setValue(kOutputFolder, folder);
  emit changed();
}

QString StudioSettings::device() const {
  return oneOf(settings_->value(kDevice).toString(), {"auto", "cpu", "cuda"});
}

void StudioSettings::setDevice(const QString& device) {
  if (device == this->device()) return;
  settings_->setValue(kDevice, oneOf(device, {"auto", "cpu", "cuda"}));
  emit changed();
}

int StudioSettings::threads() const {
  return qMax(0, settings_->value(kThreads, 0).toInt());
}

void StudioSettings::setThreads(int threads) {
  if (threads == this->threads()) return;
  settings_->setValue(kThreads, qMax(0, threads));
  emit changed();
}

QString StudioSettings::memoryMode() const {
  return oneOf(settings_->value(kMemoryMode).toString(), {"auto", "normal", "low"});
}

void StudioSettings::setMemoryMode(const QString& mode) {
  if (mode == memoryMode()) return;
  settings_->setValue(kMemoryMode, oneOf(mode, {"auto", "normal", "low"}));
  emit changed();
}

QString StudioSettings::moderationPolicy() const {
  return settings_->value(kModerationPolicy).toString();
}

void StudioSettings::setModerationPolicy(const QString& path) {
  if (path == moderationPolicy()) return;
  settings_->setValue(kModerationPolicy, path);
  emit changed();
}

QString StudioSettings::defaultModel() const {
  return settings_->value(kDefaultModel).toString();
}

void StudioSettings::setDefaultModel(const QString& name) {
  if (name == defaultModel()) return;
  settings_->setValue(kDefaultModel, name);
  emit changed();
}

void StudioSettings::applyModelFolders() const {
  std::vector<std::filesystem::path> folders;
  for (const QString& folder : modelFolders()) {
    if (!folder.isEmpty()) folders.emplace_back(folder.toStdString());
  }
  reelforge::models::set_extra_model_folders(std::move(folders));
}

RenderJobOptions StudioSettings::renderOptions() const {
  RenderJobOptions options;
  options.device = device();
  options.memoryMode = memoryMode();
  options.threads = threads();
  options.moderationPolicy = moderationPolicy();
  return options;
}

QString StudioSettings::fileName() const {
  return settings_->fileName();
}

void StudioSettings::sync() {
  settings_->sync();
}
