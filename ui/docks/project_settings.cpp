#include "docks/project_settings.hpp"

#include <QButtonGroup>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>

#include "models/storyboard_document.hpp"
#include "reelforge/media/presets.hpp"
#include "reelforge/models/registry.hpp"
#include "services/display_text.hpp"

namespace sb = reelforge::storyboard;
namespace media = reelforge::media;
namespace models = reelforge::models;

// The output frame drawn to scale, so the aspect reads at a glance.
class AspectPreview : public QWidget {
 public:
  explicit AspectPreview(QWidget* parent) : QWidget(parent) { setFixedSize(96, 96); }
  void setAspect(media::Aspect aspect, const QString& label) {
    aspect_ = aspect;
    label_ = label;
    update();
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const media::FrameSize size = media::preset_size(aspect_, media::Resolution::P1080);
    const double scale = (width() - 8.0) / std::max(size.width_px, size.height_px);
    const QSizeF frame(size.width_px * scale, size.height_px * scale);
    const QRectF rect(QPointF((width() - frame.width()) / 2, (height() - frame.height()) / 2),
                      frame);
    painter.fillRect(rect, QColor(0x33, 0x36, 0x3d));
    painter.setPen(QPen(QColor(0x6c, 0xa8, 0xff), 2));
    painter.drawRect(rect);
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(rect, Qt::AlignCenter, label_);
  }

 private:
  media::Aspect aspect_ = media::Aspect::Wide;
  QString label_;
};

ProjectSettingsDock::ProjectSettingsDock(StoryboardDocument* document, QWidget* parent)
    : QDockWidget(tr("Project"), parent), document_(document) {
  setObjectName(QStringLiteral("projectSettings"));
  buildUi();
  reloadModels();
  connect(document_, &StoryboardDocument::projectChanged, this, &ProjectSettingsDock::refresh);
  connect(document_, &StoryboardDocument::titleChanged, this, &ProjectSettingsDock::refresh);
  connect(document_, &StoryboardDocument::documentReset, this, &ProjectSettingsDock::refresh);
  connect(document_, &StoryboardDocument::editRefused, this, &ProjectSettingsDock::refresh);
  refresh();
}

void ProjectSettingsDock::buildUi() {
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* page = new QWidget(scroll);
  auto* layout = new QFormLayout(page);

  title_ = new QLineEdit(page);
  title_->setObjectName(QStringLiteral("title"));
  layout->addRow(tr("&Title"), title_);

  aspect_ = new QButtonGroup(this);
  auto* aspectRow = new QHBoxLayout;
  auto* aspectButtons = new QVBoxLayout;
  const struct {
    media::Aspect aspect;
    QString text;
  } aspects[] = {{media::Aspect::Wide, tr("Wide 16:9")},
                 {media::Aspect::Vertical, tr("Vertical 9:16")},
                 {media::Aspect::Square, tr("Square 1:1")}};
  for (const auto& entry : aspects) {
    auto* button = new QToolButton(page);
    button->setText(entry.text);
    button->setCheckable(true);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    button->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    aspect_->addButton(button, static_cast<int>(entry.aspect));
    aspectButtons->addWidget(button);
  }
  preview_ = new AspectPreview(page);
  aspectRow->addLayout(aspectButtons, 1);
  aspectRow->addWidget(preview_);
  layout->addRow(tr("Aspect"), aspectRow);

  resolution_ = new QComboBox(page);
  resolution_->setObjectName(QStringLiteral("resolution"));
  for (media::Resolution r :
       {media::Resolution::P480, media::Resolution::P720, media::Resolution::P1080}) {
    resolution_->addItem(QString::fromUtf8(media::to_string(r)), static_cast<int>(r));
  }
  outputSize_ = new QLabel(page);
  auto* resolutionRow = new QHBoxLayout;
  resolutionRow->addWidget(resolution_);
  resolutionRow->addWidget(outputSize_, 1);
  layout->addRow(tr("Resolution"), resolutionRow);

  fps_ = new QDoubleSpinBox(page);
  fps_->setObjectName(QStringLiteral("fps"));
  fps_->setRange(media::kMinFps, media::kMaxFps);
  fps_->setDecimals(3);
  fps_->setKeyboardTracking(false);
  layout->addRow(tr("&Frame rate"), fps_);

  model_ = new QComboBox(page);
  model_->setObjectName(QStringLiteral("model"));
  auto* reload = new QPushButton(tr("Rescan"), page);
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(model_, 1);
  modelRow->addWidget(reload);
  layout->addRow(tr("Model"), modelRow);
  modelInfo_ = new QLabel(page);
  modelInfo_->setWordWrap(true);
  modelInfo_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addRow(QString(), modelInfo_);

  quality_ = new QComboBox(page);
  quality_->setObjectName(QStringLiteral("quality"));
  quality_->addItem(tr("Draft"), static_cast<int>(sb::QualityPreset::Draft));
  quality_->addItem(tr("Final"), static_cast<int>(sb::QualityPreset::Final));
  qualityInfo_ = new QLabel(page);
  qualityInfo_->setWordWrap(true);
  layout->addRow(tr("&Quality"), quality_);
  layout->addRow(QString(), qualityInfo_);

  seed_ = new QLineEdit(page);
  seed_->setObjectName(QStringLiteral("projectSeed"));
  seed_->setValidator(
      new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9]{1,20}")), seed_));
  auto* randomise = new QPushButton(tr("Randomise"), page);
  auto* seedRow = new QHBoxLayout;
  seedRow->addWidget(seed_, 1);
  seedRow->addWidget(randomise);
  layout->addRow(tr("Seed"), seedRow);

  scroll->setWidget(page);
  setWidget(scroll);

  const auto edit = [this](auto change, const QString& text, const QString& mergeKey = {}) {
    if (updating_) return;
    sb::ProjectSettings project = document_->storyboard().project;
    change(project);
    document_->editProject(project, text, mergeKey);
  };
  connect(title_, &QLineEdit::textEdited, this, [this](const QString& text) {
    if (!updating_) document_->editTitle(text);
  });
  connect(aspect_, &QButtonGroup::idClicked, this, [edit](int id) {
    edit([id](sb::ProjectSettings& p) { p.aspect = static_cast<media::Aspect>(id); },
         tr("Change aspect"));
  });
  connect(resolution_, &QComboBox::currentIndexChanged, this, [this, edit] {
    const int r = resolution_->currentData().toInt();
    edit([r](sb::ProjectSettings& p) { p.resolution = static_cast<media::Resolution>(r); },
         tr("Change resolution"));
  });
  connect(fps_, &QDoubleSpinBox::valueChanged, this, [edit](double fps) {
    edit([fps](sb::ProjectSettings& p) { p.fps = fps; }, tr("Change frame rate"), "fps");
  });
  connect(model_, &QComboBox::currentIndexChanged, this, [this, edit] {
    const std::string name = model_->currentData().toString().toStdString();
    if (!name.empty()) {
      edit([name](sb::ProjectSettings& p) { p.model = name; }, tr("Change model"));
    }
    showModelInfo();
  });
  connect(reload, &QPushButton::clicked, this, &ProjectSettingsDock::reloadModels);
  connect(quality_, &QComboBox::currentIndexChanged, this, [this, edit] {
    const int q = quality_->currentData().toInt();
    edit([q](sb::ProjectSettings& p) { p.quality = static_cast<sb::QualityPreset>(q); },
         tr("Change quality"));
  });
  connect(seed_, &QLineEdit::editingFinished, this, [this, edit] {
    bool ok = false;
    const quint64 seed = seed_->text().toULongLong(&ok);
    if (ok) edit([seed](sb::ProjectSettings& p) { p.seed = seed; }, tr("Change project seed"));
  });
  connect(randomise, &QPushButton::clicked, this, [edit] {
    const quint64 seed = QRandomGenerator::global()->generate64();
    edit([seed](sb::ProjectSettings& p) { p.seed = seed; }, tr("Randomise project seed"));
  });
}

void ProjectSettingsDock::reloadModels() {
  updating_ = true;
  model_->clear();
  for (const models::InstalledModel& installed : models::list_models()) {
    const QString name =
        QString::fromStdString(installed.manifest.name.empty() ? installed.dir.filename().string()
                                                               : installed.manifest.name);
    const QString label = installed.problem.empty()
                              ? QString::fromStdString(installed.manifest.display_name.empty()
                                                           ? installed.manifest.name
                                                           : installed.manifest.display_name)
                              : tr("%1 (unreadable)").arg(name);
    if (model_->findData(name) < 0) model_->addItem(label, name);
  }
  updating_ = false;
  refresh();
}

void ProjectSettingsDock::refresh() {
  updating_ = true;
  const sb::Storyboard& board = document_->storyboard();
  const sb::ProjectSettings& p = board.project;
  if (title_->text() != QString::fromStdString(board.title)) {
    title_->setText(QString::fromStdString(board.title));
  }
  if (auto* button = aspect_->button(static_cast<int>(p.aspect))) button->setChecked(true);
  preview_->setAspect(p.aspect, QString::fromUtf8(media::to_string(p.aspect)));
  resolution_->setCurrentIndex(resolution_->findData(static_cast<int>(p.resolution)));
  const media::FrameSize size = media::preset_size(p.aspect, p.resolution);
  outputSize_->setText(tr("%1 × %2 px").arg(size.width_px).arg(size.height_px));
  fps_->setValue(p.fps);
  const QString model = QString::fromStdString(p.model);
  if (model_->findData(model) < 0) model_->addItem(tr("%1 (not installed)").arg(model), model);
  model_->setCurrentIndex(model_->findData(model));
  quality_->setCurrentIndex(p.quality == sb::QualityPreset::Draft ? 0 : 1);
  qualityInfo_->setText(p.quality == sb::QualityPreset::Draft
                            ? tr("Fast preview: the model's native size, half the sampling steps.")
                            : tr("Full settings: every sampling step, upscaled to %1 × %2.")
                                  .arg(size.width_px)
                                  .arg(size.height_px));
  if (!seed_->hasFocus()) seed_->setText(QString::number(p.seed));
  updating_ = false;
  showModelInfo();
}

void ProjectSettingsDock::showModelInfo() {
  const std::string name = document_->storyboard().project.model;
  for (const models::InstalledModel& installed : models::list_models()) {
    if (installed.manifest.name != name) continue;
    if (!installed.problem.empty()) {
      modelInfo_->setText(tr("Cannot be used: %1").arg(QString::fromStdString(installed.problem)));
      return;
    }
    const models::ModelManifest& m = installed.manifest;
    QStringList tasks;
    for (models::Task task : m.tasks) {
      switch (task) {
        case models::Task::TextToVideo:
          tasks << tr("text to video");
          break;
        case models::Task::ImageToVideo:
          tasks << tr("keyframes");
          break;
        case models::Task::VideoToVideo:
          tasks << tr("source clips");
          break;
      }
    }
    QString text =
        tr("Supports: %1.\nNative: %2 at %3 fps, %4 frames per window.\nPrompt: up to %5 tokens.")
            .arg(tasks.join(", "), modelSizesText(m))
            .arg(m.fps)
            .arg(m.frame_count)
            .arg(m.text_encoder.text_len);
    const auto missing = m.missing_files();
    if (!missing.empty()) {
      QStringList files;
      for (const std::string& file : missing) files << QString::fromStdString(file);
      text += tr("\nMissing files: %1").arg(files.join(", "));
    }
    modelInfo_->setText(text);
    return;
  }
  modelInfo_->setText(tr("Model \"%1\" is not installed; renders will fail until it is (see the "
                         "Models dock).")
                          .arg(QString::fromStdString(name)));
}
