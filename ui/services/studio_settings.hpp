#pragma once
// The Studio's preferences, kept in QSettings (the platform's native store, or an ini file given
// by tests): where models and renders live, how the core runs models (device, threads, memory
// mode) and which moderation policy guards prompts. renderOptions() turns them into the options a
// RenderQueue job carries, so every render follows the settings at the time it was queued.

#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

class QSettings;

// What a render needs from the settings, in Qt types (the core's RuntimeOptions live in a
// LibTorch header that ui/ headers stay clear of; RenderWorker translates).
struct RenderJobOptions {
  QString device = QStringLiteral("auto");      // auto | cpu | cuda
  QString memoryMode = QStringLiteral("auto");  // auto | normal | low
  int threads = 0;                              // intra-op threads; 0 = one per hardware thread
  QString moderationPolicy;                     // empty = the shipped policy
  QString modelDir;  // load the model from this folder; empty = find project.model by name
  int steps = 0;     // sampling steps; 0 = the model's default (halved for drafts by the core)
  QString encoderPreset = QStringLiteral("medium");
  int crf = 20;
  int previewEverySteps = 1;  // latent previews during sampling; 0 = none
  bool visibleWatermark = false;
  bool keepJobFolder = false;  // keep the job folder after success (for a later re-render)
};

class StudioSettings : public QObject {
  Q_OBJECT

 public:
  // The application's QSettings (organisation "ReelForge", application "Studio").
  explicit StudioSettings(QObject* parent = nullptr);
  // An ini file at `iniPath` (tests, portable installs).
  explicit StudioSettings(const QString& iniPath, QObject* parent = nullptr);
  ~StudioSettings() override;

  // Extra folders searched for models (after $REELFORGE_MODELS, before the user data folder).
  QStringList modelFolders() const;
  void setModelFolders(const QStringList& folders);
  // Where new renders are written; default: the Movies folder's "ReelForge".
  QString outputFolder() const;
  void setOutputFolder(const QString& folder);
  QString device() const;  // auto | cpu | cuda
  void setDevice(const QString& device);
  int threads() const;  // 0 = automatic
  void setThreads(int threads);
  QString memoryMode() const;  // auto | normal | low
  void setMemoryMode(const QString& mode);
  QString moderationPolicy() const;  // empty = the shipped policy
  void setModerationPolicy(const QString& path);
  // The model new projects use; empty = the core's default_model_name().
  QString defaultModel() const;
  void setDefaultModel(const QString& name);

  // Hands modelFolders() to the core's registry (models::set_extra_model_folders), so model
  // lists and renders see them. Called on construction and whenever the folders change.
  void applyModelFolders() const;

  RenderJobOptions renderOptions() const;
  // The file (or registry path) the settings are stored in.
  QString fileName() const;
  void sync();

 signals:
  void changed();

 private:
  std::unique_ptr<QSettings> settings_;
};
