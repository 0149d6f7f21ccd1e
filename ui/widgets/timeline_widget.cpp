#include "widgets/timeline_widget.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QDrag>
#include <QFileInfo>
#include <QKeyEvent>
#include <QMenu>
#include <QMimeData>
#include <QPainter>
#include <QUndoStack>
#include <algorithm>
#include <cmath>

#include "models/storyboard_document.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"
#include "widgets/timeline_mime.hpp"

namespace sb = reelforge::storyboard;

namespace {

double snap(double seconds) {
  return std::max(TimelineWidget::kSnapSeconds, std::round(seconds / TimelineWidget::kSnapSeconds) *
                                                    TimelineWidget::kSnapSeconds);
}

QString firstLine(const QString& text) {
  const QString line = text.section(QLatin1Char('\n'), 0, 0);
  return line.trimmed();
}

}  // namespace

TimelineWidget::TimelineWidget(StoryboardDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), thumbnails_(new ShotThumbnailCache(this)) {
  setObjectName(QStringLiteral("timeline"));
  setFocusPolicy(Qt::StrongFocus);
  setAcceptDrops(true);
  setMouseTracking(true);
  setAccessibleName(tr("Storyboard timeline"));

  const auto makeAction = [this](const QString& text, const QKeySequence& key, auto slot) {
    auto* action = new QAction(text, this);
    action->setShortcut(key);
    action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(action, &QAction::triggered, this, slot);
    addAction(action);
    return action;
  };
  addShotAction_ =
      makeAction(tr("&Add Shot"), QKeySequence(Qt::Key_Insert), &TimelineWidget::addShot);
  copyAction_ = makeAction(tr("&Copy Shots"), QKeySequence::Copy, &TimelineWidget::copySelection);
  cutAction_ = makeAction(tr("Cu&t Shots"), QKeySequence::Cut, &TimelineWidget::cutSelection);
  pasteAction_ = makeAction(tr("&Paste Shots"), QKeySequence::Paste, &TimelineWidget::paste);
  duplicateAction_ = makeAction(tr("&Duplicate Shots"), QKeySequence(Qt::CTRL | Qt::Key_D),
                                &TimelineWidget::duplicateSelection);
  deleteAction_ =
      makeAction(tr("De&lete Shots"), QKeySequence::Delete, &TimelineWidget::deleteSelection);

  connect(thumbnails_, &ShotThumbnailCache::thumbnailReady, this, [this] { update(); });
  connect(document_, &StoryboardDocument::shotInserted, this, &TimelineWidget::documentChanged);
  connect(document_, &StoryboardDocument::shotRemoved, this, &TimelineWidget::documentChanged);
  connect(document_, &StoryboardDocument::shotMoved, this, &TimelineWidget::documentChanged);
  connect(document_, &StoryboardDocument::shotChanged, this, &TimelineWidget::documentChanged);
  connect(document_, &StoryboardDocument::projectChanged, this, &TimelineWidget::documentChanged);
  connect(document_, &StoryboardDocument::documentReset, this, [this] {
    previews_.clear();
    selected_.clear();
    currentId_.clear();
    documentChanged();
    if (document_->shotCount() > 0) selectIndex(0);
  });
  connect(document_, &StoryboardDocument::editRefused, this, &TimelineWidget::setProblem);
  connect(document_->undoStack(), &QUndoStack::indexChanged, this,
          [this] { lastProblem_.clear(); });
  if (document_->shotCount() > 0) selectIndex(0);
}

void TimelineWidget::setPixelsPerSecond(double pixels) {
  pixelsPerSecond_ = std::clamp(pixels, 12.0, 400.0);
  updateGeometry();
  update();
}

double TimelineWidget::secondsAt(int x) const {
  return (x - kLeftMargin) / pixelsPerSecond_;
}
int TimelineWidget::xAt(double seconds) const {
  return kLeftMargin + static_cast<int>(std::lround(seconds * pixelsPerSecond_));
}

QVector<QRect> TimelineWidget::cardRects() const {
  sb::Storyboard board = document_->storyboard();
  if (resizeIndex_ >= 0 && resizePreview_ && resizeIndex_ < static_cast<int>(board.shots.size())) {
    board.shots[static_cast<size_t>(resizeIndex_)].duration_s = *resizePreview_;
  }
  QVector<QRect> rects;
  rects.reserve(static_cast<int>(board.shots.size()));
  for (const sb::ShotTiming& timing : board.timeline()) {
    const int left = xAt(timing.start_s);
    rects << QRect(left, kCardTop, std::max(8, xAt(timing.end_s) - left), kCardHeight);
  }
  return rects;
}

QRect TimelineWidget::cardRect(int index) const {
  return cardRects().value(index);
}

int TimelineWidget::cardAt(const QPoint& pos) const {
  // Later cards are drawn on top of the crossfades that overlap them.
  const QVector<QRect> rects = cardRects();
  for (int i = rects.size() - 1; i >= 0; --i) {
    if (rects[i].contains(pos)) return i;
  }
  return -1;
}

int TimelineWidget::resizeHandleAt(const QPoint& pos) const {
  const QVector<QRect> rects = cardRects();
  for (int i = rects.size() - 1; i >= 0; --i) {
    const QRect& rect = rects[i];
    if (pos.y() >= rect.top() && pos.y() <= rect.bottom() &&
        std::abs(pos.x() - (rect.left() + rect.width())) <= kEdgeGrab) {
      return i;
    }
  }
  return -1;
}

int TimelineWidget::insertionIndexAt(const QPoint& pos) const {
  const QVector<QRect> rects = cardRects();
  for (int i = 0; i < rects.size(); ++i) {
    if (pos.x() < rects[i].center().x()) return i;
  }
  return static_cast<int>(rects.size());
}

QStringList TimelineWidget::selectedIds() const {
  QStringList ids;
  for (const sb::Shot& shot : document_->storyboard().shots) {
    const QString id = QString::fromStdString(shot.id);
    if (selected_.contains(id)) ids << id;
  }
  return ids;
}

void TimelineWidget::setSelection(const QStringList& ids, const QString& current) {
  selected_ = ids;
  anchorId_ = current.isEmpty() ? (ids.isEmpty() ? QString() : ids.first()) : current;
  pruneSelection();
  setCurrent(current.isEmpty() ? (selected_.isEmpty() ? QString() : selected_.last()) : current);
  emit selectionChanged();
  update();
}

void TimelineWidget::selectIndex(int index) {
  if (index < 0 || index >= document_->shotCount()) return;
  const QString id = QString::fromStdString(document_->shot(index).id);
  setSelection({id}, id);
}

void TimelineWidget::setCurrent(const QString& id) {
  if (id == currentId_) return;
  currentId_ = id;
  emit currentShotChanged(id);
}

void TimelineWidget::pruneSelection() {
  QStringList kept;
  for (const QString& id : selected_) {
    if (document_->indexOfShot(id.toStdString()) >= 0) kept << id;
  }
  selected_ = kept;
  if (!currentId_.isEmpty() && document_->indexOfShot(currentId_.toStdString()) < 0) {
    setCurrent(selected_.isEmpty() ? QString() : selected_.last());
  }
}

void TimelineWidget::documentChanged() {
  const int before = selected_.size();
  pruneSelection();
  if (selected_.size() != before) emit selectionChanged();
  updateGeometry();
  resize(std::max(width(), sizeHint().width()), height());
  update();
}

void TimelineWidget::setShotPreview(const QString& shotId, const QImage& image) {
  previews_.insert(shotId,
                   image.scaledToHeight(ShotThumbnailCache::kHeight, Qt::SmoothTransformation));
  update();
}

void TimelineWidget::setProblem(const QString& message) {
  lastProblem_ = message;
  emit problem(message);
}

double TimelineWidget::remainingSeconds() const {
  return sb::kMaxTotalDuration_s - document_->storyboard().total_duration_s();
}

QSize TimelineWidget::sizeHint() const {
  const double seconds =
      std::max(document_->storyboard().total_duration_s(), sb::kMaxTotalDuration_s) + 3;
  return QSize(xAt(seconds), kCardTop + kCardHeight + 22);
}

QSize TimelineWidget::minimumSizeHint() const {
  return QSize(200, kCardTop + kCardHeight + 22);
}

QImage TimelineWidget::thumbnailFor(int index) {
  const sb::Shot& shot = document_->shot(index);
  const auto preview = previews_.find(QString::fromStdString(shot.id));
  if (preview != previews_.end()) return *preview;
  if (shot.keyframe) {
    return thumbnails_->thumbnail(
        QString::fromStdString(document_->resolveMedia(shot.keyframe->path).string()));
  }
  if (shot.source_video) {
    return thumbnails_->thumbnail(
        QString::fromStdString(document_->resolveMedia(shot.source_video->path).string()));
  }
  return {};
}

// --- painting -----------------------------------------------------------------------------------

void TimelineWidget::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), QColor(0x1e, 0x20, 0x24));
  painter.fillRect(QRect(0, 0, width(), kRulerHeight), QColor(0x2a, 0x2c, 0x31));

  // Ruler: a tick every half second, labelled every second (every 5 s when zoomed out).
  const int labelEvery = pixelsPerSecond_ < 30 ? 5 : 1;
  painter.setPen(QColor(0xa0, 0xa4, 0xac));
  const double lastSecond = secondsAt(width());
  for (int half = 0; half / 2.0 <= lastSecond; ++half) {
    const int x = xAt(half / 2.0);
    const bool whole = half % 2 == 0;
    painter.drawLine(x, kRulerHeight - (whole ? 10 : 5), x, kRulerHeight - 1);
    if (whole && (half / 2) % labelEvery == 0) {
      painter.drawText(x + 3, kRulerHeight - 12, QStringLiteral("%1 s").arg(half / 2));
    }
  }

  // Cards.
  const auto& shots = document_->storyboard().shots;
  const QVector<QRect> rects = cardRects();
  for (int i = 0; i < static_cast<int>(shots.size()); ++i) {
    const sb::Shot& shot = shots[static_cast<size_t>(i)];
    ShotCardView view;
    view.index = i;
    view.id = QString::fromStdString(shot.id);
    view.prompt = QString::fromStdString(shot.prompt);
    view.durationSeconds =
        (i == resizeIndex_ && resizePreview_) ? *resizePreview_ : shot.duration_s;
    view.thumbnail = thumbnailFor(i);
    view.mediaBadge = shot.source_video ? tr("clip") : shot.keyframe ? tr("keyframe") : QString();
    if (shot.transition.kind == sb::TransitionKind::Crossfade) {
      view.crossfadeWidth = shot.transition.duration_s * pixelsPerSecond_;
    }
    view.selected = selected_.contains(view.id);
    view.current = view.id == currentId_ && hasFocus();
    view.dropTarget = i == dropCardIndex_;
    paintShotCard(painter, rects.value(i), view);
  }

  // The storyboard's length limit, and the end of the video when it is past it.
  const int limitX = xAt(sb::kMaxTotalDuration_s);
  QPen limitPen(QColor(0xe5, 0x39, 0x35));
  limitPen.setWidth(2);
  painter.setPen(limitPen);
  painter.drawLine(limitX, 0, limitX, height());
  const QString limitText = tr("%1 s limit").arg(sb::kMaxTotalDuration_s);
  painter.drawText(limitX - fontMetrics().horizontalAdvance(limitText) - 4,
                   kCardTop + kCardHeight + fontMetrics().ascent() + 1, limitText);

  if (dropInsertIndex_ >= 0) {
    const int x = dropInsertIndex_ < document_->shotCount()
                      ? rects.value(dropInsertIndex_).left()
                      : xAt(document_->storyboard().total_duration_s());
    QPen pen(QColor(0xff, 0xc1, 0x07));
    pen.setWidth(3);
    painter.setPen(pen);
    painter.drawLine(x, kCardTop - 4, x, kCardTop + kCardHeight + 4);
  }
  if (shots.empty()) {
    painter.setPen(QColor(0x90, 0x94, 0x9c));
    painter.drawText(QRect(kLeftMargin, kCardTop, width(), kCardHeight), Qt::AlignVCenter,
                     tr("Drop images or videos here, or press Insert to add a shot"));
  }
}

// --- mouse --------------------------------------------------------------------------------------

void TimelineWidget::mousePressEvent(QMouseEvent* event) {
  setFocus(Qt::MouseFocusReason);
  if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
  pressPos_ = event->position().toPoint();
  clickSelectOnRelease_.clear();
  const int handle = resizeHandleAt(pressPos_);
  if (handle >= 0) {
    resizeIndex_ = handle;
    resizeOriginal_ = document_->shot(handle).duration_s;
    selectIndex(handle);
    return;
  }
  const int card = cardAt(pressPos_);
  if (card < 0) {
    setSelection({});
    return;
  }
  const QString id = QString::fromStdString(document_->shot(card).id);
  pressOnCard_ = true;
  if (event->modifiers() & Qt::ControlModifier) {
    QStringList ids = selected_;
    if (ids.contains(id)) {
      ids.removeAll(id);
    } else {
      ids << id;
    }
    setSelection(ids, ids.contains(id) ? id : QString());
  } else if ((event->modifiers() & Qt::ShiftModifier) && !anchorId_.isEmpty()) {
    const int anchor = std::max(0, document_->indexOfShot(anchorId_.toStdString()));
    QStringList ids;
    for (int i = std::min(anchor, card); i <= std::max(anchor, card); ++i) {
      ids << QString::fromStdString(document_->shot(i).id);
    }
    const QString keepAnchor = anchorId_;
    setSelection(ids, id);
    anchorId_ = keepAnchor;
  } else if (selected_.contains(id)) {
    // Keep a multi-selection for dragging; a click without a drag selects this card alone.
    clickSelectOnRelease_ = id;
    setCurrent(id);
  } else {
    setSelection({id}, id);
  }
}

void TimelineWidget::mouseMoveEvent(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  if (resizeIndex_ >= 0 && (event->buttons() & Qt::LeftButton)) {
    const double duration = snap(resizeOriginal_ + (pos.x() - pressPos_.x()) / pixelsPerSecond_);
    if (!resizePreview_ || *resizePreview_ != duration) {
      resizePreview_ = duration;
      updateGeometry();
      update();
    }
    return;
  }
  if (pressOnCard_ && (event->buttons() & Qt::LeftButton) &&
      (pos - pressPos_).manhattanLength() >= QApplication::startDragDistance()) {
    pressOnCard_ = false;
    clickSelectOnRelease_.clear();
    startDrag();
    return;
  }
  if (!event->buttons()) {
    setCursor(resizeHandleAt(pos) >= 0 ? Qt::SizeHorCursor : Qt::ArrowCursor);
  }
}

void TimelineWidget::mouseReleaseEvent(QMouseEvent* event) {
  if (resizeIndex_ >= 0) {
    const int index = resizeIndex_;
    const std::optional<double> duration = resizePreview_;
    resizeIndex_ = -1;
    resizePreview_.reset();
    if (duration && *duration != resizeOriginal_ && index < document_->shotCount()) {
      sb::Shot shot = document_->shot(index);
      shot.duration_s = *duration;
      if (document_->editShot(shot, tr("Change duration"))) lastProblem_.clear();
    }
    updateGeometry();
    update();
    return;
  }
  if (!clickSelectOnRelease_.isEmpty()) {
    setSelection({clickSelectOnRelease_}, clickSelectOnRelease_);
    clickSelectOnRelease_.clear();
  }
  pressOnCard_ = false;
  QWidget::mouseReleaseEvent(event);
}

void TimelineWidget::mouseDoubleClickEvent(QMouseEvent* event) {
  if (cardAt(event->position().toPoint()) < 0) {
    addShot();
  } else {
    QWidget::mouseDoubleClickEvent(event);
  }
}

void TimelineWidget::wheelEvent(QWheelEvent* event) {
  if (event->modifiers() & Qt::ControlModifier) {
    setPixelsPerSecond(pixelsPerSecond_ * (event->angleDelta().y() > 0 ? 1.25 : 0.8));
    resize(sizeHint().width(), height());
    emit zoomedByUser();
    event->accept();
    return;
  }
  QWidget::wheelEvent(event);
}

void TimelineWidget::startDrag() {
  const QStringList ids = selectedIds();
  if (ids.isEmpty()) return;
  auto* drag = new QDrag(this);
  drag->setMimeData(timeline_mime::encodeShots(*document_, ids));
  const int index = document_->indexOfShot(currentId_.toStdString());
  if (index >= 0) {
    const QRect rect = cardRect(index);
    QPixmap pixmap = grab(rect);
    drag->setPixmap(pixmap.scaledToHeight(60, Qt::SmoothTransformation));
  }
  drag->exec(Qt::MoveAction | Qt::CopyAction, Qt::MoveAction);
}

void TimelineWidget::contextMenuEvent(QContextMenuEvent* event) {
  const int card = cardAt(event->pos());
  if (card >= 0 && !selected_.contains(QString::fromStdString(document_->shot(card).id))) {
    selectIndex(card);
  }
  QMenu menu(this);
  menu.addAction(addShotAction_);
  menu.addSeparator();
  menu.addAction(cutAction_);
  menu.addAction(copyAction_);
  menu.addAction(pasteAction_);
  menu.addAction(duplicateAction_);
  menu.addAction(deleteAction_);
  menu.exec(event->globalPos());
}

// --- keyboard -----------------------------------------------------------------------------------

void TimelineWidget::keyPressEvent(QKeyEvent* event) {
  // Reached when the shortcut map did not take the key (e.g. the window is not active).
  const struct {
    QKeySequence::StandardKey key;
    QAction* action;
  } standard[] = {{QKeySequence::Copy, copyAction_},
                  {QKeySequence::Cut, cutAction_},
                  {QKeySequence::Paste, pasteAction_},
                  {QKeySequence::Delete, deleteAction_}};
  for (const auto& entry : standard) {
    if (event->matches(entry.key)) {
      entry.action->trigger();
      return;
    }
  }
  const bool ctrl = event->modifiers() & Qt::ControlModifier;
  const bool shift = event->modifiers() & Qt::ShiftModifier;
  const int current = document_->indexOfShot(currentId_.toStdString());
  switch (event->key()) {
    case Qt::Key_D:
      if (ctrl) return duplicateSelection();
      break;
    case Qt::Key_Insert:
      return addShot();
    case Qt::Key_Backspace:
      return deleteSelection();
    case Qt::Key_Left:
    case Qt::Key_Right: {
      const int delta = event->key() == Qt::Key_Left ? -1 : 1;
      if (ctrl) return moveSelection(delta);
      const int target =
          std::clamp(current < 0 ? 0 : current + delta, 0, document_->shotCount() - 1);
      if (target < 0) return;
      if (shift && !anchorId_.isEmpty()) {
        const int anchor = std::max(0, document_->indexOfShot(anchorId_.toStdString()));
        QStringList ids;
        for (int i = std::min(anchor, target); i <= std::max(anchor, target); ++i) {
          ids << QString::fromStdString(document_->shot(i).id);
        }
        const QString keepAnchor = anchorId_;
        setSelection(ids, QString::fromStdString(document_->shot(target).id));
        anchorId_ = keepAnchor;
      } else {
        selectIndex(target);
      }
      return;
    }
    case Qt::Key_Home:
      return selectIndex(0);
    case Qt::Key_End:
      return selectIndex(document_->shotCount() - 1);
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      return changeSelectedDuration(kSnapSeconds);
    case Qt::Key_Minus:
      return changeSelectedDuration(-kSnapSeconds);
    default:
      break;
  }
  QWidget::keyPressEvent(event);
}

// --- edits --------------------------------------------------------------------------------------

void TimelineWidget::addShot() {
  sb::Shot shot;
  shot.id = document_->newShotId();
  const double remaining = remainingSeconds();
  shot.duration_s =
      remaining >= kSnapSeconds
          ? std::min(kNewShotSeconds, std::floor(remaining / kSnapSeconds) * kSnapSeconds)
          : kNewShotSeconds;
  const int current = document_->indexOfShot(currentId_.toStdString());
  const int index = current < 0 ? document_->shotCount() : current + 1;
  if (document_->editInsertShots(index, {shot}, tr("Add shot"))) {
    lastProblem_.clear();
    selectIndex(index);
  }
}

void TimelineWidget::copySelection() {
  const QStringList ids = selectedIds();
  if (ids.isEmpty()) return;
  QApplication::clipboard()->setMimeData(timeline_mime::encodeShots(*document_, ids));
}

void TimelineWidget::cutSelection() {
  copySelection();
  deleteSelection();
}

void TimelineWidget::paste() {
  const QMimeData* mime = QApplication::clipboard()->mimeData();
  int index = document_->shotCount();
  const QStringList ids = selectedIds();
  if (!ids.isEmpty()) index = document_->indexOfShot(ids.last().toStdString()) + 1;
  if (const auto shots = timeline_mime::decodeShots(mime)) {
    const auto fresh = document_->withFreshIds(shots->shots);
    if (document_->editInsertShots(index, fresh, tr("Paste shots"))) {
      lastProblem_.clear();
      QStringList pasted;
      for (const sb::Shot& shot : fresh) pasted << QString::fromStdString(shot.id);
      setSelection(pasted);
    }
    return;
  }
  const QStringList files = timeline_mime::mediaFiles(mime);
  if (!files.isEmpty()) {
    dropFilesOnTrack(files, index);
    return;
  }
  setProblem(tr("The clipboard holds no shots, images or videos to paste"));
}

void TimelineWidget::duplicateSelection() {
  const QStringList ids = selectedIds();
  if (ids.isEmpty()) return;
  std::vector<sb::Shot> copies;
  for (const QString& id : ids)
    copies.push_back(document_->shot(document_->indexOfShot(id.toStdString())));
  copies = document_->withFreshIds(std::move(copies));
  const int index = document_->indexOfShot(ids.last().toStdString()) + 1;
  if (document_->editInsertShots(index, copies, tr("Duplicate shots"))) {
    lastProblem_.clear();
    QStringList created;
    for (const sb::Shot& shot : copies) created << QString::fromStdString(shot.id);
    setSelection(created);
  }
}

void TimelineWidget::deleteSelection() {
  const QStringList ids = selectedIds();
  if (ids.isEmpty()) return;
  const int first = document_->indexOfShot(ids.first().toStdString());
  if (document_->editRemoveShots(ids)) {
    lastProblem_.clear();
    selectIndex(std::min(first, document_->shotCount() - 1));
  }
}

void TimelineWidget::moveSelection(int delta) {
  const QStringList ids = selectedIds();
  if (ids.isEmpty() || delta == 0) return;
  // Position of the block among the shots that stay put.
  const int first = document_->indexOfShot(ids.first().toStdString());
  int restBefore = 0;
  for (int i = 0; i < first; ++i) {
    if (!ids.contains(QString::fromStdString(document_->shot(i).id))) ++restBefore;
  }
  const int restCount = document_->shotCount() - ids.size();
  const int target = std::clamp(restBefore + delta, 0, restCount);
  if (document_->editMoveShots(ids, target)) {
    lastProblem_.clear();
    setSelection(ids, currentId_);
  }
}

void TimelineWidget::changeSelectedDuration(double delta) {
  const QStringList ids = selectedIds();
  if (ids.isEmpty()) return;
  QUndoStack* stack = document_->undoStack();
  const int before = stack->index();
  stack->beginMacro(delta > 0 ? tr("Lengthen shots") : tr("Shorten shots"));
  bool ok = true;
  for (const QString& id : ids) {
    sb::Shot shot = document_->shot(document_->indexOfShot(id.toStdString()));
    shot.duration_s = snap(shot.duration_s + delta);
    if (!document_->editShot(shot, tr("Change duration"))) {
      ok = false;
      break;
    }
  }
  stack->endMacro();
  // All or nothing: a refused shot takes the others' changes back with it.
  if (!ok && stack->index() > before) stack->undo();
  if (ok) lastProblem_.clear();
}

// --- drops --------------------------------------------------------------------------------------

bool TimelineWidget::acceptsDrop(const QMimeData* mime) const {
  return mime &&
         (mime->hasFormat(timeline_mime::kShots) || mime->hasFormat(timeline_mime::kGalleryItem) ||
          !timeline_mime::mediaFiles(mime).isEmpty());
}

void TimelineWidget::dragEnterEvent(QDragEnterEvent* event) {
  if (acceptsDrop(event->mimeData())) {
    event->acceptProposedAction();
  } else {
    event->ignore();
  }
}

void TimelineWidget::dragMoveEvent(QDragMoveEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (!acceptsDrop(mime)) {
    event->ignore();
    return;
  }
  const QPoint pos = event->position().toPoint();
  const bool files =
      !mime->hasFormat(timeline_mime::kShots) && !mime->hasFormat(timeline_mime::kGalleryItem);
  dropCardIndex_ = files ? cardAt(pos) : -1;
  dropInsertIndex_ = dropCardIndex_ >= 0 ? -1 : insertionIndexAt(pos);
  event->acceptProposedAction();
  update();
}

void TimelineWidget::dragLeaveEvent(QDragLeaveEvent* event) {
  dropCardIndex_ = dropInsertIndex_ = -1;
  update();
  QWidget::dragLeaveEvent(event);
}

void TimelineWidget::dropEvent(QDropEvent* event) {
  dropCardIndex_ = dropInsertIndex_ = -1;
  update();
  if (applyDrop(event->mimeData(), event->position().toPoint(), event->dropAction())) {
    event->acceptProposedAction();
  } else {
    event->ignore();
  }
}

bool TimelineWidget::applyDrop(const QMimeData* mime, const QPoint& pos, Qt::DropAction action) {
  if (const auto shots = timeline_mime::decodeShots(mime)) {
    const int index = insertionIndexAt(pos);
    if (shots->documentToken == timeline_mime::documentToken(document_) &&
        action != Qt::CopyAction) {
      int restIndex = 0;
      for (int i = 0; i < index; ++i) {
        if (!shots->ids.contains(QString::fromStdString(document_->shot(i).id))) ++restIndex;
      }
      if (!document_->editMoveShots(shots->ids, restIndex)) return false;
      lastProblem_.clear();
      setSelection(shots->ids, shots->ids.last());
      return true;
    }
    const auto fresh = document_->withFreshIds(shots->shots);
    if (!document_->editInsertShots(index, fresh, tr("Drop shots"))) return false;
    lastProblem_.clear();
    return true;
  }
  if (mime && mime->hasFormat(timeline_mime::kGalleryItem)) {
    return dropGalleryItem(mime, insertionIndexAt(pos));
  }
  const QStringList files = timeline_mime::mediaFiles(mime);
  if (files.isEmpty()) {
    setProblem(tr("Only image and video files can be dropped on the timeline"));
    return false;
  }
  const int card = cardAt(pos);
  return card >= 0 ? dropFilesOnCard(files, card) : dropFilesOnTrack(files, insertionIndexAt(pos));
}

bool TimelineWidget::dropFilesOnCard(const QStringList& files, int index) {
  const QString& file = files.first();
  sb::Shot shot = document_->shot(index);
  QString text;
  if (timeline_mime::mediaKindOf(file) == timeline_mime::MediaKind::Image) {
    const sb::KeyframeAt at = shot.keyframe ? shot.keyframe->at : sb::KeyframeAt::First;
    shot.keyframe = sb::Keyframe{file.toStdString(), at};
    text = tr("Set keyframe");
  } else {
    const double strength = shot.source_video ? shot.source_video->strength : 0.6;
    shot.source_video = sb::SourceVideo{file.toStdString(), strength};
    text = tr("Set source clip");
  }
  if (!document_->editShot(shot, text)) return false;
  selectIndex(index);
  if (files.size() > 1) {
    setProblem(tr("A shot takes one file: %1 was used, the other %n file(s) were not", nullptr,
                  static_cast<int>(files.size() - 1))
                   .arg(QFileInfo(file).fileName()));
  } else {
    lastProblem_.clear();
  }
  return true;
}

bool TimelineWidget::dropFilesOnTrack(const QStringList& files, int index) {
  const double remaining = remainingSeconds();
  const double perShot =
      remaining >= kSnapSeconds * files.size()
          ? std::min(kNewShotSeconds,
                     std::floor(remaining / files.size() / kSnapSeconds) * kSnapSeconds)
          : kNewShotSeconds;  // too long either way: the document refuses it with the reason
  std::vector<sb::Shot> shots;
  for (const QString& file : files) {
    sb::Shot shot;
    shot.duration_s = perShot;
    if (timeline_mime::mediaKindOf(file) == timeline_mime::MediaKind::Image) {
      shot.keyframe = sb::Keyframe{file.toStdString(), sb::KeyframeAt::First};
    } else {
      shot.source_video = sb::SourceVideo{file.toStdString(), 0.6};
    }
    shots.push_back(shot);
  }
  shots = document_->withFreshIds(std::move(shots));
  if (!document_->editInsertShots(index, shots,
                                  files.size() == 1
                                      ? tr("Add shot from file")
                                      : tr("Add %1 shots from files").arg(files.size()))) {
    return false;
  }
  lastProblem_.clear();
  QStringList ids;
  for (const sb::Shot& shot : shots) ids << QString::fromStdString(shot.id);
  setSelection(ids);
  return true;
}

bool TimelineWidget::dropGalleryItem(const QMimeData* mime, int index) {
  const auto item = timeline_mime::decodeGalleryItem(mime);
  if (!item) {
    setProblem(tr("The gallery item names neither a clip nor a storyboard"));
    return false;
  }
  std::vector<sb::Shot> shots;
  if (!item->clipPath.isEmpty() && QFileInfo::exists(item->clipPath)) {
    // A render reused as the source of a new shot, with the prompt it was made from.
    sb::Shot shot;
    shot.prompt = firstLine(item->prompt).toStdString();
    const double remaining = remainingSeconds();
    shot.duration_s =
        remaining >= kSnapSeconds
            ? std::min(kNewShotSeconds, std::floor(remaining / kSnapSeconds) * kSnapSeconds)
            : kNewShotSeconds;
    shot.source_video =
        sb::SourceVideo{QFileInfo(item->clipPath).absoluteFilePath().toStdString(), 0.6};
    shots.push_back(shot);
  } else if (!item->storyboardPath.isEmpty()) {
    try {
      sb::LoadOptions options;
      options.validation.media = sb::MediaChecks::None;
      const std::filesystem::path file = item->storyboardPath.toStdString();
      shots = sb::check_file(file, options).storyboard.shots;
      const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
      for (sb::Shot& shot : shots) {
        if (shot.keyframe)
          shot.keyframe->path = sb::resolve_media_path(shot.keyframe->path, base).string();
        if (shot.source_video) {
          shot.source_video->path = sb::resolve_media_path(shot.source_video->path, base).string();
        }
      }
    } catch (const reelforge::Error& error) {
      setProblem(tr("Cannot read %1: %2")
                     .arg(item->storyboardPath, QString::fromStdString(error.message())));
      return false;
    }
  } else {
    setProblem(tr("The gallery clip %1 no longer exists").arg(item->clipPath));
    return false;
  }
  if (shots.empty()) {
    setProblem(tr("The gallery item holds no shots"));
    return false;
  }
  shots = document_->withFreshIds(std::move(shots));
  if (!document_->editInsertShots(index, shots, tr("Add from gallery"))) return false;
  lastProblem_.clear();
  QStringList ids;
  for (const sb::Shot& shot : shots) ids << QString::fromStdString(shot.id);
  setSelection(ids);
  return true;
}
