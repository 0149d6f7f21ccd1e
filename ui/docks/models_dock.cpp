#include "docks/models_dock.hpp"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QThread>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <filesystem>

#include "reelforge/core/error.hpp"
#include "reelforge/models/inspect.hpp"
#include "reelforge/models/registry.hpp"
#include "services/display_text.hpp"
#include "services/studio_settings.hpp"

namespace fs = std::filesystem;
namespace models = reelforge::models;

namespace {

constexpr int kNameRole = Qt::UserRole + 1;

QString tasksText(const models::ModelManifest& m) {
  QStringList tasks;
  for (models::Task t : m.tasks) tasks << QString::fromLatin1(models::to_string(t));
  return tasks.join(QStringLiteral(", "));
}

}  // namespace

ModelsDock::ModelsDock(StudioSettings* settings, QWidget* parent)
    : QDockWidget(tr("Models"), parent), settings_(settings) {
  setObjectName(QStringLiteral("modelsDock"));
  auto* page = new QWidget(this);
  list_ = new QTreeWidget(page);
  list_->setColumnCount(5);
  list_->setHeaderLabels(
      {tr("Model"), tr("Tasks"), tr("Native sizes"), tr("Frames / fps"), tr("Status")});
  list_->setRootIsDecorated(false);
  list_->setAlternatingRowColors(true);
  list_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
  list_->setAccessibleName(tr("Installed models"));
  status_ = new QLabel(page);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  importButton_ = new QPushButton(tr("Import folder…"), page);
  defaultButton_ = new QPushButton(tr("Make default"), page);
  auto* refreshButton = new QPushButton(tr("Refresh"), page);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(importButton_);
  buttons->addWidget(defaultButton_);
  buttons->addStretch(1);
  buttons->addWidget(refreshButton);
  auto* layout = new QVBoxLayout(page);
  layout->addWidget(list_, 1);
  layout->addWidget(status_);
  layout->addLayout(buttons);
  setWidget(page);

  connect(importButton_, &QPushButton::clicked, this, &ModelsDock::chooseAndImport);
  connect(defaultButton_, &QPushButton::clicked, this, &ModelsDock::makeSelectedDefault);
  connect(refreshButton, &QPushButton::clicked, this, &ModelsDock::refresh);
  connect(list_, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
    if (item) inspect(item->toolTip(NameColumn));
  });
  connect(list_, &QTreeWidget::itemDoubleClicked, this, &ModelsDock::makeSelectedDefault);
  if (settings_) connect(settings_, &StudioSettings::changed, this, &ModelsDock::refresh);
  refresh();
}

ModelsDock::~ModelsDock() {
  if (importThread_) importThread_->wait();  // a copy in progress finishes its file
}

QString ModelsDock::statusText() const {
  return status_->text();
}

void ModelsDock::refresh() {
  list_->clear();
  const QString chosen = settings_ ? settings_->defaultModel() : QString();
  std::string fallback;
  try {
    fallback = models::default_model_name();
  } catch (const reelforge::Error&) {
  }
  const QString effectiveDefault = chosen.isEmpty() ? QString::fromStdString(fallback) : chosen;
  for (const models::InstalledModel& m : models::list_models()) {
    auto* item = new QTreeWidgetItem(list_);
    item->setToolTip(0, QString::fromStdString(m.dir.string()));
    if (!m.problem.empty()) {
      item->setText(NameColumn, QString::fromStdString(m.dir.filename().string()));
      item->setText(StatusColumn, tr("unreadable: %1").arg(QString::fromStdString(m.problem)));
      item->setForeground(StatusColumn, Qt::red);
      continue;
    }
    const models::ModelManifest& manifest = m.manifest;
    const QString name = QString::fromStdString(manifest.name);
    item->setData(NameColumn, kNameRole, name);
    QString label =
        manifest.display_name.empty() || manifest.display_name == manifest.name
            ? name
            : QStringLiteral("%1 (%2)").arg(QString::fromStdString(manifest.display_name), name);
    if (name == effectiveDefault) {
      label += tr("  ★ default");
      QFont bold = item->font(NameColumn);
      bold.setBold(true);
      item->setFont(NameColumn, bold);
    }
    item->setText(NameColumn, label);
    item->setText(TasksColumn, tasksText(manifest));
    item->setText(SizesColumn, modelSizesText(manifest));
    item->setText(FramesColumn,
                  QStringLiteral("%1 @ %2").arg(manifest.frame_count).arg(manifest.fps));
    // Only file presence here: reading every checkpoint header of every model on each refresh
    // costs seconds with real weights. The import path runs the full inspection.
    const std::vector<std::string> missing = manifest.missing_files();
    if (missing.empty()) {
      item->setText(StatusColumn, tr("ready"));
    } else {
      QStringList files;
      for (const std::string& f : missing) files << QString::fromStdString(f);
      item->setText(StatusColumn, tr("missing: %1").arg(files.join(QStringLiteral(", "))));
      item->setForeground(StatusColumn, Qt::red);
    }
  }
  emit modelsChanged();
}

void ModelsDock::inspect(const QString& folder) {
  if (folder.isEmpty()) return;
  try {
    // Checkpoint headers only (no weights): fast enough to run as the selection moves.
    const models::ModelInspection report = models::inspect_model(folder.toStdString());
    QStringList lines;
    if (!report.manifest_problem.empty()) {
      lines << tr("model.json: %1").arg(QString::fromStdString(report.manifest_problem));
    }
    for (const models::ComponentInspection& c : report.components) {
      QString line = QStringLiteral("%1: %2 M parameters, %3 layout")
                         .arg(QString::fromStdString(c.component))
                         .arg(c.parameter_count / 1e6, 0, 'f', 1)
                         .arg(QString::fromStdString(c.layout));
      if (!c.problem.empty()) line += QStringLiteral(" — ") + QString::fromStdString(c.problem);
      lines << line;
    }
    for (const std::string& missing : report.missing) {
      lines << tr("missing: %1").arg(QString::fromStdString(missing));
    }
    status_->setText(lines.join(QLatin1Char('\n')));
  } catch (const reelforge::Error& e) {
    status_->setText(errorText(e));
  }
}

void ModelsDock::makeSelectedDefault() {
  QTreeWidgetItem* item = list_->currentItem();
  if (!item || !settings_) return;
  const QString name = item->data(NameColumn, kNameRole).toString();
  if (name.isEmpty()) {
    status_->setText(tr("This folder is not a usable model."));
    return;
  }
  settings_->setDefaultModel(name);  // refresh() follows through changed()
  status_->setText(tr("New projects use %1.").arg(name));
  emit defaultModelChanged(name);
}

void ModelsDock::chooseAndImport() {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Import a model folder"));
  if (!folder.isEmpty()) importFolder(folder);
}

bool ModelsDock::importFolder(const QString& folder, const QString& targetRoot) {
  if (importThread_) return false;
  const fs::path source = folder.toStdString();
  const fs::path root =
      targetRoot.isEmpty() ? models::user_models_dir() : fs::path(targetRoot.toStdString());
  importButton_->setEnabled(false);
  status_->setText(tr("Checking and copying %1…").arg(folder));
  // Weights can be tens of GB: the copy runs off the UI thread.
  importThread_ = QThread::create([this, source, root] {
    QString name, error;
    try {
      name = QString::fromStdString(models::import_model(source, root).name);
    } catch (const reelforge::Error& e) {
      error = errorText(e);
    }
    QMetaObject::invokeMethod(
        this,
        [this, name, error] {
          importThread_->wait();
          importThread_->deleteLater();
          importThread_ = nullptr;
          importButton_->setEnabled(true);
          status_->setText(error.isEmpty() ? tr("Imported %1.").arg(name)
                                           : tr("Import failed: %1").arg(error));
          refresh();
          emit importFinished(name, error);
        },
        Qt::QueuedConnection);
  });
  importThread_->start(QThread::LowPriority);
  return true;
}
