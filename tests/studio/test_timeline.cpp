// The storyboard timeline driven as a user would: drag-and-drop events carrying real mime data,
// mouse gestures on a card's edge, files from assets/media, the keyboard and the clipboard.

#include <QApplication>
#include <QClipboard>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMimeData>
#include <QUndoStack>
#include <QUrl>
#include <QtTest>
#include <memory>

#include "models/storyboard_document.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/storyboard/io.hpp"
#include "studio_testing.hpp"
#include "widgets/timeline_mime.hpp"
#include "widgets/timeline_widget.hpp"

namespace sb = reelforge::storyboard;

namespace {

QStringList order(const StoryboardDocument& document) {
  QStringList ids;
  for (const auto& shot : document.storyboard().shots) ids << QString::fromStdString(shot.id);
  return ids;
}

// Delivers a whole drag (enter, move, drop) at `pos`, as the platform's drag manager would.
bool dragAndDrop(QWidget* target, QMimeData* mime, const QPoint& pos,
                 Qt::DropAction action = Qt::MoveAction) {
  QDragEnterEvent enter(pos, Qt::MoveAction | Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  enter.setDropAction(action);
  QApplication::sendEvent(target, &enter);
  if (!enter.isAccepted()) return false;
  QDragMoveEvent move(pos, Qt::MoveAction | Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  move.setDropAction(action);
  QApplication::sendEvent(target, &move);
  if (!move.isAccepted()) return false;
  QDropEvent drop(QPointF(pos), Qt::MoveAction | Qt::CopyAction, mime, Qt::LeftButton,
                  Qt::NoModifier);
  drop.setDropAction(action);
  QApplication::sendEvent(target, &drop);
  return drop.isAccepted();
}

void sendMouse(QWidget* target, QEvent::Type type, const QPoint& pos, Qt::MouseButton button,
               Qt::MouseButtons buttons) {
  QMouseEvent event(type, QPointF(pos), target->mapToGlobal(QPointF(pos)), button, buttons,
                    Qt::NoModifier);
  QApplication::sendEvent(target, &event);
}

QMimeData* fileUrls(const QStringList& files) {
  auto* mime = new QMimeData;
  QList<QUrl> urls;
  for (const QString& file : files) urls << QUrl::fromLocalFile(file);
  mime->setUrls(urls);
  return mime;
}

}  // namespace

class TestTimeline : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<StoryboardDocument> document_;
  std::unique_ptr<TimelineWidget> timeline_;

  // Three shots a (2 s), b (3 s), c (4 s).
  void makeTimeline(std::vector<sb::Shot> shots = {makeShot("a", 2), makeShot("b", 3),
                                                   makeShot("c", 4)}) {
    document_ = std::make_unique<StoryboardDocument>();
    sb::Storyboard board;
    board.title = "test";
    board.shots = std::move(shots);
    document_->restore(sb::to_json_text(board), {});
    document_->undoStack()->setClean();
    timeline_ = std::make_unique<TimelineWidget>(document_.get());
    timeline_->resize(timeline_->sizeHint());
    timeline_->show();
    QVERIFY(QTest::qWaitForWindowExposed(timeline_.get()));
  }

 private slots:
  void init() { makeTimeline(); }
  void cleanup() {
    timeline_.reset();
    document_.reset();
  }

  void cardsAreAsWideAsTheirDuration() {
    const double pps = timeline_->pixelsPerSecond();
    QCOMPARE(timeline_->cardRect(0).width(), qRound(2 * pps));
    QCOMPARE(timeline_->cardRect(2).width(), qRound(4 * pps));
    QCOMPARE(timeline_->cardRect(1).left(), timeline_->cardRect(0).left() + qRound(2 * pps));
    // The track is long enough to show the 20 s limit.
    QVERIFY(timeline_->sizeHint().width() > timeline_->xAt(sb::kMaxTotalDuration_s));
  }

  void reorderByDragAndDrop() {
    QMimeData* mime = timeline_mime::encodeShots(*document_, {"a"});
    const QRect c = timeline_->cardRect(2);
    QVERIFY(dragAndDrop(timeline_.get(), mime, QPoint(c.right() - 2, c.center().y())));
    delete mime;
    QCOMPARE(order(*document_), QStringList({"b", "c", "a"}));
    QVERIFY(document_->isDirty());
    document_->undoStack()->undo();
    QCOMPARE(order(*document_), QStringList({"a", "b", "c"}));
    QVERIFY(!document_->isDirty());
    document_->undoStack()->redo();
    QCOMPARE(order(*document_), QStringList({"b", "c", "a"}));
  }

  void reorderSeveralSelectedShots() {
    QMimeData* mime = timeline_mime::encodeShots(*document_, {"b", "c"});
    const QRect a = timeline_->cardRect(0);
    QVERIFY(dragAndDrop(timeline_.get(), mime, QPoint(a.left() + 3, a.center().y())));
    delete mime;
    QCOMPARE(order(*document_), QStringList({"b", "c", "a"}));
    QCOMPARE(document_->undoStack()->count(), 1);
  }

  void dropOfShotsFromAnotherDocumentCopiesThem() {
    StoryboardDocument other;
    sb::Storyboard board;
    board.shots = {makeShot("x", 1, "from elsewhere")};
    other.restore(sb::to_json_text(board), {});
    QMimeData* mime = timeline_mime::encodeShots(other, {"x"});
    const QRect a = timeline_->cardRect(0);
    QVERIFY(dragAndDrop(timeline_.get(), mime, QPoint(a.left() + 3, a.center().y())));
    delete mime;
    QCOMPARE(document_->shotCount(), 4);
    QCOMPARE(document_->shot(0).prompt, std::string("from elsewhere"));
    QVERIFY(document_->shot(0).id != "a" && document_->shot(0).id != "b");
  }

  void resizeByDraggingTheRightEdge() {
    const QRect a = timeline_->cardRect(0);
    const QPoint edge(a.left() + a.width(), a.center().y());
    QCOMPARE(timeline_->resizeHandleAt(edge), 0);
    const int dx = qRound(1.3 * timeline_->pixelsPerSecond());  // snaps to +1.5 s
    sendMouse(timeline_.get(), QEvent::MouseButtonPress, edge, Qt::LeftButton, Qt::LeftButton);
    sendMouse(timeline_.get(), QEvent::MouseMove, edge + QPoint(dx / 2, 0), Qt::NoButton,
              Qt::LeftButton);
    // While dragging only the view changes: one undo step at the end.
    QCOMPARE(document_->shot(0).duration_s, 2.0);
    sendMouse(timeline_.get(), QEvent::MouseMove, edge + QPoint(dx, 0), Qt::NoButton,
              Qt::LeftButton);
    sendMouse(timeline_.get(), QEvent::MouseButtonRelease, edge + QPoint(dx, 0), Qt::LeftButton,
              Qt::NoButton);
    QCOMPARE(document_->shot(0).duration_s, 3.5);
    QCOMPARE(document_->undoStack()->count(), 1);
    QCOMPARE(timeline_->cardRect(0).width(), qRound(3.5 * timeline_->pixelsPerSecond()));
    document_->undoStack()->undo();
    QCOMPARE(document_->shot(0).duration_s, 2.0);
    document_->undoStack()->redo();
    QCOMPARE(document_->shot(0).duration_s, 3.5);
  }

  void resizePastTheLimitIsRefused() {
    // 2 + 3 + 4 = 9 s; +12 s on the first would make 21 s.
    QSignalSpy refused(document_.get(), &StoryboardDocument::editRefused);
    const QRect a = timeline_->cardRect(0);
    const QPoint edge(a.left() + a.width(), a.center().y());
    const QPoint to = edge + QPoint(qRound(12 * timeline_->pixelsPerSecond()), 0);
    sendMouse(timeline_.get(), QEvent::MouseButtonPress, edge, Qt::LeftButton, Qt::LeftButton);
    sendMouse(timeline_.get(), QEvent::MouseMove, to, Qt::NoButton, Qt::LeftButton);
    sendMouse(timeline_.get(), QEvent::MouseButtonRelease, to, Qt::LeftButton, Qt::NoButton);
    QCOMPARE(document_->shot(0).duration_s, 2.0);
    QCOMPARE(document_->undoStack()->count(), 0);
    QCOMPARE(refused.count(), 1);
    QVERIFY2(timeline_->lastProblem().contains("20 s"), qPrintable(timeline_->lastProblem()));
  }

  void dropImageOntoCardSetsKeyframe() {
    const QString image = assetPath("media/keyframe.jpg");
    QMimeData* mime = fileUrls({image});
    QVERIFY(dragAndDrop(timeline_.get(), mime, timeline_->cardRect(1).center(), Qt::CopyAction));
    delete mime;
    QVERIFY(document_->shot(1).keyframe.has_value());
    QCOMPARE(QString::fromStdString(document_->shot(1).keyframe->path), image);
    QCOMPARE(document_->shotCount(), 3);
    document_->undoStack()->undo();
    QVERIFY(!document_->shot(1).keyframe.has_value());
    document_->undoStack()->redo();
    QVERIFY(document_->shot(1).keyframe.has_value());
  }

  void cardsShowTheirMedia() {
    // The thumbnail strip of card 1, before and after it gets a keyframe.
    const QRect card = timeline_->cardRect(1);
    const QRect strip(card.left() + 4, card.top() + 4, card.width() - 8, card.height() / 2 - 8);
    const QImage before = timeline_->grab().toImage().copy(strip);
    QMimeData* mime = fileUrls({assetPath("media/builtin-keyframe.png")});
    QVERIFY(dragAndDrop(timeline_.get(), mime, card.center(), Qt::CopyAction));
    delete mime;
    // The image is decoded off the UI thread; the card repaints when it arrives.
    const auto changedPixels = [&] {
      const QImage after = timeline_->grab().toImage().copy(strip);
      int changed = 0;
      for (int y = 0; y < before.height(); ++y) {
        for (int x = 0; x < before.width(); ++x) changed += before.pixel(x, y) != after.pixel(x, y);
      }
      return changed;
    };
    QTRY_VERIFY_WITH_TIMEOUT(changedPixels() > before.width() * before.height() / 4, 30000);
  }

  void dropVideoOntoCardSetsSourceClip() {
    const QString video = assetPath("media/source.mp4");
    QMimeData* mime = fileUrls({video});
    QVERIFY(dragAndDrop(timeline_.get(), mime, timeline_->cardRect(2).center(), Qt::CopyAction));
    delete mime;
    QVERIFY(document_->shot(2).source_video.has_value());
    QCOMPARE(QString::fromStdString(document_->shot(2).source_video->path), video);
    document_->undoStack()->undo();
    QVERIFY(!document_->shot(2).source_video.has_value());
    document_->undoStack()->redo();
    QVERIFY(document_->shot(2).source_video.has_value());
  }

  void dropFilesOntoTrackCreatesShots() {
    const QString image = assetPath("media/builtin-keyframe.png");
    const QString video = assetPath("media/builtin-source.mp4");
    QMimeData* mime = fileUrls({image, video});
    const QPoint empty(timeline_->xAt(15), timeline_->cardRect(0).center().y());
    QCOMPARE(timeline_->cardAt(empty), -1);
    QVERIFY(dragAndDrop(timeline_.get(), mime, empty, Qt::CopyAction));
    delete mime;
    QCOMPARE(document_->shotCount(), 5);
    QCOMPARE(QString::fromStdString(document_->shot(3).keyframe->path), image);
    QCOMPARE(QString::fromStdString(document_->shot(4).source_video->path), video);
    QCOMPARE(document_->undoStack()->count(), 1);
    document_->undoStack()->undo();
    QCOMPARE(order(*document_), QStringList({"a", "b", "c"}));
    document_->undoStack()->redo();
    QCOMPARE(document_->shotCount(), 5);
  }

  void dropOfANonMediaFileIsIgnored() {
    QMimeData* mime = fileUrls({QString::fromStdString(
        (reelforge::resource_root() / "assets" / "storyboards" / "demo.json").string())});
    QVERIFY(!dragAndDrop(timeline_.get(), mime, timeline_->cardRect(0).center()));
    delete mime;
    QCOMPARE(document_->undoStack()->count(), 0);
  }

  void dropOfAGalleryClipAddsAShotReusingIt() {
    auto* mime = new QMimeData;
    QJsonObject item;
    item["storyboard"] = QJsonValue::Null;
    item["clip"] = assetPath("media/source.mp4");
    item["prompt"] = "a red ball\na blue square";
    mime->setData(timeline_mime::kGalleryItem, QJsonDocument(item).toJson());
    const QRect b = timeline_->cardRect(1);
    QVERIFY(
        dragAndDrop(timeline_.get(), mime, QPoint(b.left() + 2, b.center().y()), Qt::CopyAction));
    delete mime;
    QCOMPARE(document_->shotCount(), 4);
    QCOMPARE(document_->shot(1).prompt, std::string("a red ball"));
    QCOMPARE(QString::fromStdString(document_->shot(1).source_video->path),
             assetPath("media/source.mp4"));
    document_->undoStack()->undo();
    QCOMPARE(document_->shotCount(), 3);
  }

  void dropOfAGalleryStoryboardAddsItsShots() {
    auto* mime = new QMimeData;
    QJsonObject item;
    item["storyboard"] = QString::fromStdString(
        (reelforge::resource_root() / "assets" / "storyboards" / "demo.json").string());
    item["clip"] = "";
    item["prompt"] = "";
    mime->setData(timeline_mime::kGalleryItem, QJsonDocument(item).toJson());
    const QPoint end(timeline_->xAt(12), timeline_->cardRect(0).center().y());
    QVERIFY(dragAndDrop(timeline_.get(), mime, end, Qt::CopyAction));
    delete mime;
    QCOMPARE(document_->shotCount(), 6);
    // Its media paths still point at the files beside the demo storyboard.
    const auto& keyframe = document_->shot(4).keyframe;
    QVERIFY(keyframe.has_value());
    QVERIFY(QFileInfo::exists(QString::fromStdString(keyframe->path)));
  }

  void clickSelectsAndModifiersExtend() {
    QTest::mouseClick(timeline_.get(), Qt::LeftButton, {}, timeline_->cardRect(0).center());
    QCOMPARE(timeline_->selectedIds(), QStringList({"a"}));
    QTest::mouseClick(timeline_.get(), Qt::LeftButton, Qt::ShiftModifier,
                      timeline_->cardRect(2).center());
    QCOMPARE(timeline_->selectedIds(), QStringList({"a", "b", "c"}));
    QTest::mouseClick(timeline_.get(), Qt::LeftButton, Qt::ControlModifier,
                      timeline_->cardRect(1).center());
    QCOMPARE(timeline_->selectedIds(), QStringList({"a", "c"}));
  }

  void keyboardMovesSelectionReordersAndResizes() {
    timeline_->setFocus();
    timeline_->selectIndex(0);
    QTest::keyClick(timeline_.get(), Qt::Key_Right);
    QCOMPARE(timeline_->currentId(), QString("b"));
    QTest::keyClick(timeline_.get(), Qt::Key_Right, Qt::ControlModifier);
    QCOMPARE(order(*document_), QStringList({"a", "c", "b"}));
    QTest::keyClick(timeline_.get(), Qt::Key_Plus);
    QCOMPARE(document_->shot(2).duration_s, 3.5);
    QTest::keyClick(timeline_.get(), Qt::Key_Minus);
    QTest::keyClick(timeline_.get(), Qt::Key_Minus);
    QCOMPARE(document_->shot(2).duration_s, 2.5);
    QTest::keyClick(timeline_.get(), Qt::Key_Left, Qt::ShiftModifier);
    QCOMPARE(timeline_->selectedIds(), QStringList({"c", "b"}));
    QTest::keyClick(timeline_.get(), Qt::Key_Delete);
    QCOMPARE(order(*document_), QStringList({"a"}));
    document_->undoStack()->undo();
    QCOMPARE(order(*document_), QStringList({"a", "c", "b"}));
  }

  void theTrackCanBeEmptied() {
    timeline_->setSelection({"a", "b", "c"});
    timeline_->deleteSelection();
    QCOMPARE(document_->shotCount(), 0);
    QVERIFY(timeline_->selectedIds().isEmpty());
    timeline_->grab();  // paints the empty track's hint
    timeline_->addShot();
    QCOMPARE(document_->shotCount(), 1);
    QCOMPARE(document_->shot(0).duration_s, TimelineWidget::kNewShotSeconds);
    QCOMPARE(timeline_->currentId(), QString::fromStdString(document_->shot(0).id));
  }

  void copyPasteAndDuplicate() {
    timeline_->setFocus();
    timeline_->setSelection({"a", "b"});
    QTest::keyClick(timeline_.get(), Qt::Key_C, Qt::ControlModifier);
    QVERIFY(QApplication::clipboard()->mimeData()->hasFormat(timeline_mime::kShots));
    timeline_->selectIndex(2);
    QTest::keyClick(timeline_.get(), Qt::Key_V, Qt::ControlModifier);
    QCOMPARE(document_->shotCount(), 5);
    QCOMPARE(document_->shot(3).duration_s, 2.0);
    QCOMPARE(document_->shot(4).duration_s, 3.0);
    QCOMPARE(timeline_->selectedIds().size(), 2);
    QTest::keyClick(timeline_.get(), Qt::Key_D, Qt::ControlModifier);
    // 9 + 5 + 5 = 19 s: still within the limit.
    QCOMPARE(document_->shotCount(), 7);
    QCOMPARE(document_->storyboard().total_duration_s(), 19.0);
    // Another paste would pass 20 s: refused, nothing changes.
    QSignalSpy refused(document_.get(), &StoryboardDocument::editRefused);
    QTest::keyClick(timeline_.get(), Qt::Key_V, Qt::ControlModifier);
    QCOMPARE(refused.count(), 1);
    QCOMPARE(document_->shotCount(), 7);
  }
};

QTEST_MAIN(TestTimeline)
#include "test_timeline.moc"
