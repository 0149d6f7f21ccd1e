#pragma once
// The storyboard timeline: a horizontal track of shot cards, each as wide as its duration, under
// a time ruler, with the storyboard's 20 s limit drawn as a line. It is a view over a
// StoryboardDocument: every change it makes (reorder by dragging a card, resize by dragging its
// right edge, drops of files and gallery items, copy/paste/duplicate/delete, keyboard) is an
// edit on the document, so it can be undone and is refused when it breaks a storyboard rule.
//
// Keyboard: Left/Right move the current shot (Shift extends the selection), Ctrl+Left/Right move
// the selected shots, +/- change their duration by 0.5 s, Delete removes them, Ctrl+C / Ctrl+V /
// Ctrl+D copy, paste after the current shot, duplicate, Insert adds an empty shot.

#include <QHash>
#include <QImage>
#include <QPoint>
#include <QStringList>
#include <QVector>
#include <QWidget>
#include <optional>

#include "widgets/shot_card.hpp"

class QAction;
class QMimeData;
class StoryboardDocument;

class TimelineWidget : public QWidget {
  Q_OBJECT

 public:
  static constexpr double kSnapSeconds = 0.5;
  static constexpr double kNewShotSeconds = 3.0;
  static constexpr int kRulerHeight = 26;
  static constexpr int kCardTop = 34;
  static constexpr int kCardHeight = 118;
  static constexpr int kLeftMargin = 16;
  static constexpr int kEdgeGrab = 6;  // pixels either side of a card's right edge

  explicit TimelineWidget(StoryboardDocument* document, QWidget* parent = nullptr);

  StoryboardDocument* document() const { return document_; }
  double pixelsPerSecond() const { return pixelsPerSecond_; }
  void setPixelsPerSecond(double pixels);

  // Geometry, in widget coordinates.
  QRect cardRect(int index) const;
  // Every card's rectangle, in document order (one pass over the core's timeline).
  QVector<QRect> cardRects() const;
  int cardAt(const QPoint& pos) const;  // -1 over the empty track
  // Where a drop at `pos` would insert: 0 .. shotCount().
  int insertionIndexAt(const QPoint& pos) const;
  // The card whose right edge (± kEdgeGrab) is at `pos`, or -1.
  int resizeHandleAt(const QPoint& pos) const;
  double secondsAt(int x) const;
  int xAt(double seconds) const;

  // Selection, by shot id, in document order.
  QStringList selectedIds() const;
  QString currentId() const { return currentId_; }
  void setSelection(const QStringList& ids, const QString& current = {});
  void selectIndex(int index);

  // The render of a shot (latent preview or finished frame), shown instead of its media.
  void setShotPreview(const QString& shotId, const QImage& image);
  // The message of the last drop or edit the timeline could not make; empty after a success.
  QString lastProblem() const { return lastProblem_; }

  // Actions for menus and toolbars (shortcuts active while the timeline has focus).
  QAction* addShotAction() const { return addShotAction_; }
  QAction* copyAction() const { return copyAction_; }
  QAction* cutAction() const { return cutAction_; }
  QAction* pasteAction() const { return pasteAction_; }
  QAction* duplicateAction() const { return duplicateAction_; }
  QAction* deleteAction() const { return deleteAction_; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 public slots:
  void addShot();
  void copySelection();
  void cutSelection();
  void paste();
  void duplicateSelection();
  void deleteSelection();
  // Moves the selected shots `delta` places along the track.
  void moveSelection(int delta);
  // Adds `delta` seconds to every selected shot (one undo step).
  void changeSelectedDuration(double delta);

 signals:
  void selectionChanged();
  void currentShotChanged(const QString& id);
  // Something the user tried could not be done (an unreadable drop, a refused edit).
  void problem(const QString& message);
  // The user zoomed (Ctrl+wheel), so views stop fitting the timeline to their width.
  void zoomedByUser();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dragMoveEvent(QDragMoveEvent* event) override;
  void dragLeaveEvent(QDragLeaveEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  bool acceptsDrop(const QMimeData* mime) const;
  // Applies a drop at `pos`; false (with lastProblem()) when nothing could be done.
  bool applyDrop(const QMimeData* mime, const QPoint& pos, Qt::DropAction action);
  bool dropFilesOnCard(const QStringList& files, int index);
  bool dropFilesOnTrack(const QStringList& files, int index);
  bool dropGalleryItem(const QMimeData* mime, int index);
  void startDrag();
  void setProblem(const QString& message);
  void documentChanged();
  void pruneSelection();
  QImage thumbnailFor(int index);
  double remainingSeconds() const;
  void setCurrent(const QString& id);

  StoryboardDocument* document_;
  double pixelsPerSecond_ = 48;
  QStringList selected_;
  QString currentId_;
  QString anchorId_;
  QHash<QString, QImage> previews_;
  ShotThumbnailCache* thumbnails_;
  QString lastProblem_;

  // Mouse gestures.
  QPoint pressPos_;
  bool pressOnCard_ = false;
  int resizeIndex_ = -1;
  double resizeOriginal_ = 0;
  std::optional<double> resizePreview_;  // the dragged duration until release
  QString clickSelectOnRelease_;         // a plain click on a selected card: select it alone

  // Drag-over feedback.
  int dropInsertIndex_ = -1;
  int dropCardIndex_ = -1;

  QAction* addShotAction_;
  QAction* copyAction_;
  QAction* cutAction_;
  QAction* pasteAction_;
  QAction* duplicateAction_;
  QAction* deleteAction_;
};
