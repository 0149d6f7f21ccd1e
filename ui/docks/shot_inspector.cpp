#include "docks/shot_inspector.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QStackedLayout>
#include <QVBoxLayout>

#include "models/storyboard_document.hpp"
#include "services/prompt_tokens.hpp"
#include "widgets/shot_card.hpp"

namespace sb = reelforge::storyboard;

namespace {

constexpr int kThumbHeight = 54;

QString fromStd(const std::string& text) {
  return QString::fromStdString(text);
}

void setThumb(QLabel* label, ShotThumbnailCache& cache, const QString& path) {
  const QImage image = path.isEmpty() ? QImage() : cache.thumbnail(path);
  if (image.isNull()) {
    label->setPixmap({});
    label->setText(path.isEmpty()          ? QString()
                   : cache.isPending(path) ? QObject::tr("loading…")
                                           : QObject::tr("unreadable"));
  } else {
    label->setText({});
    label->setPixmap(
        QPixmap::fromImage(image.scaledToHeight(kThumbHeight, Qt::SmoothTransformation)));
  }
}

}  // namespace

ShotInspector::ShotInspector(StoryboardDocument* document, QWidget* parent)
    : QDockWidget(tr("Shot"), parent),
      document_(document),
      tokens_(std::make_unique<PromptTokenCounter>()),
      thumbnails_(new ShotThumbnailCache(this)) {
  setObjectName(QStringLiteral("shotInspector"));
  buildUi();
  tokens_->setModel(fromStd(document_->storyboard().project.model));

  const auto refreshIf = [this](int index) {
    if (index >= 0 && index < document_->shotCount() &&
        fromStd(document_->shot(index).id) == shotId_) {
      refresh();
    }
  };
  connect(document_, &StoryboardDocument::shotChanged, this, refreshIf);
  connect(thumbnails_, &ShotThumbnailCache::thumbnailReady, this, [this] { refresh(); });
  connect(document_, &StoryboardDocument::shotInserted, this, [this] { refresh(); });
  connect(document_, &StoryboardDocument::shotRemoved, this, [this] { refresh(); });
  connect(document_, &StoryboardDocument::shotMoved, this, [this] { refresh(); });
  connect(document_, &StoryboardDocument::editRefused, this, [this] { refresh(); });
  connect(document_, &StoryboardDocument::projectChanged, this, [this] {
    tokens_->setModel(fromStd(document_->storyboard().project.model));
    refresh();
  });
  connect(document_, &StoryboardDocument::documentReset, this, [this] {
    tokens_->setModel(fromStd(document_->storyboard().project.model));
    setShot(document_->shotCount() > 0 ? fromStd(document_->shot(0).id) : QString());
  });
  setShot(document_->shotCount() > 0 ? fromStd(document_->shot(0).id) : QString());
}

ShotInspector::~ShotInspector() = default;

void ShotInspector::buildUi() {
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* page = new QWidget(scroll);
  auto* stack = new QStackedLayout(page);

  empty_ = new QLabel(tr("Select a shot on the timeline to edit it."), page);
  empty_->setAlignment(Qt::AlignCenter);
  empty_->setWordWrap(true);
  stack->addWidget(empty_);

  // The form keeps its natural height at the top; the stretch below takes the rest.
  auto* formPage = new QWidget(page);
  auto* formColumn = new QVBoxLayout(formPage);
  formColumn->setContentsMargins(0, 0, 0, 0);
  form_ = new QWidget(formPage);
  formColumn->addWidget(form_);
  formColumn->addStretch(1);
  auto* layout = new QFormLayout(form_);
  layout->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  header_ = new QLabel(form_);
  QFont bold = header_->font();
  bold.setBold(true);
  header_->setFont(bold);
  layout->addRow(header_);

  prompt_ = new QPlainTextEdit(form_);
  prompt_->setObjectName(QStringLiteral("prompt"));
  prompt_->setPlaceholderText(tr("What the shot shows: subject, action, setting, camera, light"));
  prompt_->setTabChangesFocus(true);
  prompt_->setMinimumHeight(60);
  prompt_->setMaximumHeight(120);
  promptTokens_ = new QLabel(form_);
  layout->addRow(tr("&Prompt"), prompt_);
  layout->addRow(QString(), promptTokens_);

  negative_ = new QPlainTextEdit(form_);
  negative_->setObjectName(QStringLiteral("negativePrompt"));
  negative_->setPlaceholderText(tr("What to avoid (empty: the model's default)"));
  negative_->setTabChangesFocus(true);
  negative_->setMaximumHeight(52);
  negativeTokens_ = new QLabel(form_);
  layout->addRow(tr("&Negative"), negative_);
  layout->addRow(QString(), negativeTokens_);
  tokenSource_ = new QLabel(form_);
  tokenSource_->setWordWrap(true);
  tokenSource_->setStyleSheet(QStringLiteral("color: palette(mid)"));
  layout->addRow(QString(), tokenSource_);

  duration_ = new QDoubleSpinBox(form_);
  duration_->setObjectName(QStringLiteral("duration"));
  duration_->setRange(0.05, sb::kMaxTotalDuration_s);
  duration_->setDecimals(2);
  duration_->setSingleStep(0.5);
  duration_->setSuffix(tr(" s"));
  duration_->setKeyboardTracking(false);
  layout->addRow(tr("&Duration"), duration_);

  // Keyframe: a thumbnail, the path, first/last, browse and clear.
  auto* keyframeRow = new QHBoxLayout;
  keyframeThumb_ = new QLabel(form_);
  keyframeThumb_->setObjectName(QStringLiteral("keyframeThumbnail"));
  keyframeThumb_->setFixedHeight(kThumbHeight);
  keyframeThumb_->setMinimumWidth(kThumbHeight);
  keyframePath_ = new QLineEdit(form_);
  keyframePath_->setObjectName(QStringLiteral("keyframePath"));
  keyframePath_->setReadOnly(true);
  keyframePath_->setPlaceholderText(tr("none (text to video)"));
  keyframeAt_ = new QComboBox(form_);
  keyframeAt_->addItem(tr("first frame"), static_cast<int>(sb::KeyframeAt::First));
  keyframeAt_->addItem(tr("last frame"), static_cast<int>(sb::KeyframeAt::Last));
  auto* keyframeBrowse = new QPushButton(tr("Choose…"), form_);
  keyframeClear_ = new QPushButton(tr("Clear"), form_);
  auto* keyframeColumn = new QVBoxLayout;
  keyframeColumn->addWidget(keyframePath_);
  auto* keyframeButtons = new QHBoxLayout;
  keyframeButtons->addWidget(keyframeAt_);
  keyframeButtons->addWidget(keyframeBrowse);
  keyframeButtons->addWidget(keyframeClear_);
  keyframeColumn->addLayout(keyframeButtons);
  keyframeRow->addWidget(keyframeThumb_);
  keyframeRow->addLayout(keyframeColumn, 1);
  layout->addRow(tr("Keyframe"), keyframeRow);

  auto* clipRow = new QHBoxLayout;
  clipThumb_ = new QLabel(form_);
  clipThumb_->setObjectName(QStringLiteral("sourceClipThumbnail"));
  clipThumb_->setFixedHeight(kThumbHeight);
  clipThumb_->setMinimumWidth(kThumbHeight);
  clipPath_ = new QLineEdit(form_);
  clipPath_->setObjectName(QStringLiteral("sourceClipPath"));
  clipPath_->setReadOnly(true);
  clipPath_->setPlaceholderText(tr("none"));
  strength_ = new QDoubleSpinBox(form_);
  strength_->setObjectName(QStringLiteral("strength"));
  strength_->setRange(0, 1);
  strength_->setSingleStep(0.05);
  strength_->setDecimals(2);
  strength_->setPrefix(tr("strength "));
  strength_->setToolTip(
      tr("How far the result may depart from the clip: 0 keeps it, 1 ignores it"));
  strength_->setKeyboardTracking(false);
  auto* clipBrowse = new QPushButton(tr("Choose…"), form_);
  clipClear_ = new QPushButton(tr("Clear"), form_);
  auto* clipColumn = new QVBoxLayout;
  clipColumn->addWidget(clipPath_);
  auto* clipButtons = new QHBoxLayout;
  clipButtons->addWidget(strength_);
  clipButtons->addWidget(clipBrowse);
  clipButtons->addWidget(clipClear_);
  clipColumn->addLayout(clipButtons);
  clipRow->addWidget(clipThumb_);
  clipRow->addLayout(clipColumn, 1);
  layout->addRow(tr("Source clip"), clipRow);

  auto* transitionRow = new QHBoxLayout;
  transition_ = new QComboBox(form_);
  transition_->setObjectName(QStringLiteral("transition"));
  transition_->addItem(tr("Cut"), static_cast<int>(sb::TransitionKind::Cut));
  transition_->addItem(tr("Crossfade"), static_cast<int>(sb::TransitionKind::Crossfade));
  crossfade_ = new QDoubleSpinBox(form_);
  crossfade_->setObjectName(QStringLiteral("crossfade"));
  crossfade_->setRange(0.05, 10);
  crossfade_->setSingleStep(0.25);
  crossfade_->setDecimals(2);
  crossfade_->setSuffix(tr(" s"));
  crossfade_->setKeyboardTracking(false);
  crossfade_->setValue(0.5);
  transitionRow->addWidget(transition_);
  transitionRow->addWidget(crossfade_);
  layout->addRow(tr("Transition in"), transitionRow);

  continuity_ = new QCheckBox(tr("Continue from the previous shot's last frame"), form_);
  continuity_->setObjectName(QStringLiteral("continuity"));
  layout->addRow(QString(), continuity_);

  auto* seedRow = new QHBoxLayout;
  seedLock_ = new QCheckBox(tr("Lock"), form_);
  seedLock_->setObjectName(QStringLiteral("seedLock"));
  seedLock_->setToolTip(
      tr("Unlocked, the seed derives from the project seed and the shot's id, so reordering "
         "shots keeps their look"));
  seed_ = new QLineEdit(form_);
  seed_->setObjectName(QStringLiteral("seed"));
  seed_->setValidator(
      new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9]{1,20}")), seed_));
  randomise_ = new QPushButton(tr("Randomise"), form_);
  seedRow->addWidget(seedLock_);
  seedRow->addWidget(seed_, 1);
  seedRow->addWidget(randomise_);
  layout->addRow(tr("Seed"), seedRow);

  stack->addWidget(formPage);
  scroll->setWidget(page);
  setWidget(scroll);

  connect(prompt_, &QPlainTextEdit::textChanged, this, [this] {
    refreshTokens();
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    shot.prompt = prompt_->toPlainText().toStdString();
    commit(shot, tr("Edit prompt"), QStringLiteral("prompt"));
  });
  connect(negative_, &QPlainTextEdit::textChanged, this, [this] {
    refreshTokens();
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    shot.negative_prompt = negative_->toPlainText().toStdString();
    commit(shot, tr("Edit negative prompt"), QStringLiteral("negative_prompt"));
  });
  connect(duration_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    shot.duration_s = value;
    commit(shot, tr("Change duration"));
  });
  connect(keyframeAt_, &QComboBox::currentIndexChanged, this, [this] {
    if (updating_ || !current() || !current()->keyframe) return;
    sb::Shot shot = *current();
    shot.keyframe->at = static_cast<sb::KeyframeAt>(keyframeAt_->currentData().toInt());
    commit(shot, tr("Change keyframe position"));
  });
  connect(keyframeBrowse, &QPushButton::clicked, this, &ShotInspector::browseKeyframe);
  connect(keyframeClear_, &QPushButton::clicked, this, [this] { setKeyframeFile({}); });
  connect(clipBrowse, &QPushButton::clicked, this, &ShotInspector::browseSourceClip);
  connect(clipClear_, &QPushButton::clicked, this, [this] { setSourceClipFile({}); });
  connect(strength_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
    if (updating_ || !current() || !current()->source_video) return;
    sb::Shot shot = *current();
    shot.source_video->strength = value;
    commit(shot, tr("Change strength"), QStringLiteral("strength"));
  });
  connect(transition_, &QComboBox::currentIndexChanged, this, [this] {
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    shot.transition.kind = static_cast<sb::TransitionKind>(transition_->currentData().toInt());
    shot.transition.duration_s =
        shot.transition.kind == sb::TransitionKind::Cut ? 0 : crossfade_->value();
    commit(shot, tr("Change transition"));
  });
  connect(crossfade_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
    if (updating_ || !current() || current()->transition.kind != sb::TransitionKind::Crossfade) {
      return;
    }
    sb::Shot shot = *current();
    shot.transition.duration_s = value;
    commit(shot, tr("Change crossfade length"), QStringLiteral("crossfade"));
  });
  connect(continuity_, &QCheckBox::toggled, this, [this](bool on) {
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    shot.continuity = on ? sb::Continuity::Continue : sb::Continuity::Cut;
    commit(shot, tr("Change continuity"));
  });
  connect(seedLock_, &QCheckBox::toggled, this, [this](bool locked) {
    if (updating_ || !current()) return;
    sb::Shot shot = *current();
    // Locking keeps the seed the shot renders with now, so its look does not change.
    shot.seed = locked ? std::optional<uint64_t>(document_->storyboard().effective_seed(shot))
                       : std::nullopt;
    commit(shot, locked ? tr("Lock seed") : tr("Unlock seed"));
  });
  connect(seed_, &QLineEdit::editingFinished, this, [this] {
    if (updating_ || !current() || seed_->text().isEmpty()) return;
    bool ok = false;
    const quint64 value = seed_->text().toULongLong(&ok);
    if (!ok) return refresh();
    sb::Shot shot = *current();
    shot.seed = value;
    commit(shot, tr("Set seed"));
  });
  connect(randomise_, &QPushButton::clicked, this, &ShotInspector::randomiseSeed);
}

const sb::Shot* ShotInspector::current() const {
  const int index = document_->indexOfShot(shotId_.toStdString());
  return index < 0 ? nullptr : &document_->shot(index);
}

void ShotInspector::commit(const sb::Shot& shot, const QString& text, const QString& mergeKey) {
  // Merging is per shot and field, so typing into two shots' prompts stays two steps.
  document_->editShot(shot, text, mergeKey.isEmpty() ? QString() : mergeKey + ':' + shotId_);
}

void ShotInspector::setShot(const QString& id) {
  shotId_ = id;
  refresh();
}

void ShotInspector::refresh() {
  const sb::Shot* shot = current();
  auto* stack = static_cast<QStackedLayout*>(form_->parentWidget()->parentWidget()->layout());
  if (!shot) {
    stack->setCurrentWidget(empty_);
    return;
  }
  stack->setCurrentWidget(form_->parentWidget());
  updating_ = true;
  const int index = document_->indexOfShot(shot->id);
  header_->setText(
      tr("Shot %1 of %2 — %3").arg(index + 1).arg(document_->shotCount()).arg(fromStd(shot->id)));
  // Replacing equal text would move the cursor while the user types.
  if (prompt_->toPlainText() != fromStd(shot->prompt)) prompt_->setPlainText(fromStd(shot->prompt));
  if (negative_->toPlainText() != fromStd(shot->negative_prompt)) {
    negative_->setPlainText(fromStd(shot->negative_prompt));
  }
  duration_->setValue(shot->duration_s);

  const QString keyframe =
      shot->keyframe
          ? QString::fromStdString(document_->resolveMedia(shot->keyframe->path).string())
          : QString();
  setThumb(keyframeThumb_, *thumbnails_, keyframe);
  keyframePath_->setText(keyframe);
  keyframePath_->setToolTip(keyframe);
  keyframeAt_->setEnabled(shot->keyframe.has_value());
  keyframeAt_->setCurrentIndex(shot->keyframe && shot->keyframe->at == sb::KeyframeAt::Last ? 1
                                                                                            : 0);
  keyframeClear_->setEnabled(shot->keyframe.has_value());

  const QString clip =
      shot->source_video
          ? QString::fromStdString(document_->resolveMedia(shot->source_video->path).string())
          : QString();
  setThumb(clipThumb_, *thumbnails_, clip);
  clipPath_->setText(clip);
  clipPath_->setToolTip(clip);
  strength_->setEnabled(shot->source_video.has_value());
  strength_->setValue(shot->source_video ? shot->source_video->strength : 0.6);
  clipClear_->setEnabled(shot->source_video.has_value());

  const bool crossfade = shot->transition.kind == sb::TransitionKind::Crossfade;
  transition_->setCurrentIndex(crossfade ? 1 : 0);
  // The first shot has nothing to fade from.
  transition_->setEnabled(index > 0 || crossfade);
  crossfade_->setEnabled(crossfade);
  if (crossfade) crossfade_->setValue(shot->transition.duration_s);
  continuity_->setChecked(shot->continuity == sb::Continuity::Continue);
  continuity_->setEnabled(index > 0 || shot->continuity == sb::Continuity::Continue);

  seedLock_->setChecked(shot->seed.has_value());
  seed_->setReadOnly(!shot->seed.has_value());
  seed_->setText(QString::number(document_->storyboard().effective_seed(*shot)));
  seed_->setToolTip(shot->seed
                        ? tr("This shot's own seed")
                        : tr("Derived from the project seed and the shot's id; lock to edit"));
  updating_ = false;
  refreshTokens();
}

void ShotInspector::refreshTokens() {
  const auto show = [this](QLabel* label, const QString& text) {
    const PromptTokenCounter::Count count = tokens_->count(text);
    const bool over = count.tokens > count.limit;
    label->setText(tr("%1 / %2 tokens%3")
                       .arg(count.tokens)
                       .arg(count.limit)
                       .arg(over ? tr(" — too long for the model") : QString()));
    label->setStyleSheet(over ? QStringLiteral("color: #e53935") : QString());
  };
  show(promptTokens_, prompt_->toPlainText());
  show(negativeTokens_, negative_->toPlainText());
  tokenSource_->setText(tr("Counted with %1.").arg(tokens_->source()));
  tokenSource_->setToolTip(tokens_->detail());
  promptTokens_->setToolTip(tokens_->detail());
}

void ShotInspector::setKeyframeFile(const QString& path) {
  if (!current()) return;
  sb::Shot shot = *current();
  if (path.isEmpty()) {
    shot.keyframe.reset();
  } else {
    const sb::KeyframeAt at = shot.keyframe ? shot.keyframe->at : sb::KeyframeAt::First;
    shot.keyframe = sb::Keyframe{QFileInfo(path).absoluteFilePath().toStdString(), at};
  }
  commit(shot, path.isEmpty() ? tr("Clear keyframe") : tr("Set keyframe"));
}

void ShotInspector::setSourceClipFile(const QString& path) {
  if (!current()) return;
  sb::Shot shot = *current();
  if (path.isEmpty()) {
    shot.source_video.reset();
  } else {
    const double strength = shot.source_video ? shot.source_video->strength : 0.6;
    shot.source_video = sb::SourceVideo{QFileInfo(path).absoluteFilePath().toStdString(), strength};
  }
  commit(shot, path.isEmpty() ? tr("Clear source clip") : tr("Set source clip"));
}

void ShotInspector::randomiseSeed() {
  if (!current()) return;
  sb::Shot shot = *current();
  shot.seed = QRandomGenerator::global()->generate64();
  commit(shot, tr("Randomise seed"));
}

void ShotInspector::browseKeyframe() {
  const QString file = QFileDialog::getOpenFileName(
      this, tr("Keyframe image"), QFileInfo(keyframePath_->text()).absolutePath(),
      tr("Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"));
  if (!file.isEmpty()) setKeyframeFile(file);
}

void ShotInspector::browseSourceClip() {
  const QString file = QFileDialog::getOpenFileName(
      this, tr("Source clip"), QFileInfo(clipPath_->text()).absolutePath(),
      tr("Videos (*.mp4 *.mov *.mkv *.webm *.avi);;All files (*)"));
  if (!file.isEmpty()) setSourceClipFile(file);
}
