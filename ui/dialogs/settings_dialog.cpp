#include "dialogs/settings_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include "reelforge/core/error.hpp"
#include "reelforge/safety/moderation.hpp"
#include "services/display_text.hpp"
#include "services/studio_settings.hpp"

namespace {

QWidget* withBrowse(QLineEdit* edit, QPushButton* browse) {
  auto* row = new QWidget;
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(edit, 1);
  layout->addWidget(browse);
  return row;
}

}  // namespace

SettingsDialog::SettingsDialog(StudioSettings* settings, QWidget* parent)
    : QDialog(parent), settings_(settings) {
  setWindowTitle(tr("Settings"));

  folders_ = new QListWidget(this);
  folders_->setAccessibleName(tr("Model folders"));
  folders_->setMaximumHeight(100);
  auto* addFolder = new QPushButton(tr("Add…"), this);
  auto* removeFolder = new QPushButton(tr("Remove"), this);
  auto* folderButtons = new QVBoxLayout;
  folderButtons->addWidget(addFolder);
  folderButtons->addWidget(removeFolder);
  folderButtons->addStretch(1);
  auto* foldersRow = new QHBoxLayout;
  foldersRow->addWidget(folders_, 1);
  foldersRow->addLayout(folderButtons);

  output_ = new QLineEdit(this);
  auto* browseOutput = new QPushButton(tr("Browse…"), this);
  device_ = new QComboBox(this);
  device_->addItem(tr("Automatic"), QStringLiteral("auto"));
  device_->addItem(tr("CPU"), QStringLiteral("cpu"));
  device_->addItem(tr("CUDA GPU"), QStringLiteral("cuda"));
  threads_ = new QSpinBox(this);
  threads_->setRange(0, qMax(1, QThread::idealThreadCount()) * 4);
  threads_->setSpecialValueText(tr("Automatic"));
  memory_ = new QComboBox(this);
  memory_->addItem(tr("Automatic"), QStringLiteral("auto"));
  memory_->addItem(tr("Normal"), QStringLiteral("normal"));
  memory_->addItem(tr("Low (text encoder on the CPU, tiled decode)"), QStringLiteral("low"));
  policy_ = new QLineEdit(this);
  policy_->setPlaceholderText(tr("The shipped policy"));
  auto* browsePolicy = new QPushButton(tr("Browse…"), this);
  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setStyleSheet(QStringLiteral("color: #c0392b"));
  error_->hide();

  auto* form = new QFormLayout;
  form->addRow(tr("Model folders"), foldersRow);
  form->addRow(tr("Output folder"), withBrowse(output_, browseOutput));
  form->addRow(tr("Device"), device_);
  form->addRow(tr("Threads"), threads_);
  form->addRow(tr("Memory mode"), memory_);
  form->addRow(tr("Moderation policy"), withBrowse(policy_, browsePolicy));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(error_);
  layout->addWidget(buttons);

  connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
  connect(addFolder, &QPushButton::clicked, this, [this] {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Add a model folder"));
    if (!folder.isEmpty()) folders_->addItem(folder);
  });
  connect(removeFolder, &QPushButton::clicked, this, [this] { delete folders_->currentItem(); });
  connect(browseOutput, &QPushButton::clicked, this, [this] {
    const QString folder =
        QFileDialog::getExistingDirectory(this, tr("Output folder"), output_->text());
    if (!folder.isEmpty()) output_->setText(folder);
  });
  connect(browsePolicy, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Moderation policy"),
                                                      policy_->text(), tr("Policy (*.json)"));
    if (!file.isEmpty()) policy_->setText(file);
  });
  load();
}

void SettingsDialog::load() {
  folders_->clear();
  folders_->addItems(settings_->modelFolders());
  output_->setText(settings_->outputFolder());
  device_->setCurrentIndex(qMax(0, device_->findData(settings_->device())));
  threads_->setValue(settings_->threads());
  memory_->setCurrentIndex(qMax(0, memory_->findData(settings_->memoryMode())));
  policy_->setText(settings_->moderationPolicy());
}

QString SettingsDialog::errorText() const {
  return error_->isHidden() ? QString() : error_->text();
}

void SettingsDialog::accept() {
  QStringList problems;
  QStringList folders;
  for (int i = 0; i < folders_->count(); ++i) {
    const QString folder = folders_->item(i)->text().trimmed();
    if (folder.isEmpty()) continue;
    if (!QFileInfo(folder).isDir()) problems << tr("Model folder %1 does not exist.").arg(folder);
    folders << folder;
  }
  const QString output = output_->text().trimmed();
  if (output.isEmpty()) {
    problems << tr("Choose an output folder.");
  } else if (!QDir().mkpath(output)) {
    problems << tr("The output folder %1 cannot be created.").arg(output);
  }
  const QString policy = policy_->text().trimmed();
  if (!policy.isEmpty()) {
    try {
      // The same loader renders use: a policy that fails here would fail every render.
      reelforge::safety::ModerationPolicy::load(policy.toStdString());
    } catch (const reelforge::Error& e) {
      problems << tr("Moderation policy: %1").arg(::errorText(e));
    }
  }
  if (!problems.isEmpty()) {
    error_->setText(problems.join(QLatin1Char('\n')));
    error_->show();
    return;
  }
  error_->hide();
  settings_->setModelFolders(folders);
  settings_->setOutputFolder(output);
  settings_->setDevice(device_->currentData().toString());
  settings_->setThreads(threads_->value());
  settings_->setMemoryMode(memory_->currentData().toString());
  settings_->setModerationPolicy(policy);
  settings_->sync();
  QDialog::accept();
}
