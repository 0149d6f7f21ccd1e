#pragma once
// Installed models (the core's registry): what each supports (tasks, native sizes, frames, fps),
// which is the default for new projects, and what is missing from a broken folder (the core's
// inspection). Import copies a model folder into the user's models folder after the core has
// validated it, on a background thread (weights can be many GB).

#include <QDockWidget>
#include <QString>

class QLabel;
class QPushButton;
class QThread;
class QTreeWidget;
class StudioSettings;

class ModelsDock : public QDockWidget {
  Q_OBJECT

 public:
  enum Column { NameColumn, TasksColumn, SizesColumn, FramesColumn, StatusColumn };

  explicit ModelsDock(StudioSettings* settings, QWidget* parent = nullptr);
  ~ModelsDock() override;

  // Copies `folder` into `targetRoot` (empty = the user's models folder) in the background;
  // importFinished() tells how it went. False when an import is already running.
  bool importFolder(const QString& folder, const QString& targetRoot = {});
  bool isImporting() const { return importThread_ != nullptr; }
  QTreeWidget* modelList() const { return list_; }
  QString statusText() const;

 public slots:
  void refresh();
  // Makes the selected model the default (StudioSettings::setDefaultModel).
  void makeSelectedDefault();
  void chooseAndImport();  // asks for a folder

 signals:
  void importFinished(const QString& modelName, const QString& error);
  void defaultModelChanged(const QString& name);
  void modelsChanged();

 private:
  // Shows the core's inspection of a model folder (components, layouts, missing pieces).
  void inspect(const QString& folder);

  StudioSettings* settings_ = nullptr;
  QTreeWidget* list_ = nullptr;
  QLabel* status_ = nullptr;
  QPushButton* importButton_ = nullptr;
  QPushButton* defaultButton_ = nullptr;
  QThread* importThread_ = nullptr;
};
