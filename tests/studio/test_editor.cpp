// The editor around the timeline: the shot inspector and project settings editing the document
// through undo commands, the 20 s limit refusing an edit visibly, files (save / open / save as
// with media paths kept), autosave and crash recovery, recent files and the persisted layout.
// Everything runs on real files in temporary folders and a real event loop.

#include <QApplication>
#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <memory>

#include "docks/models_dock.hpp"
#include "docks/project_settings.hpp"
#include "docks/shot_inspector.hpp"
#include "main_window.hpp"
#include "models/storyboard_document.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/storyboard/io.hpp"
#include "services/autosave.hpp"
#include "services/prompt_tokens.hpp"
#include "services/render_queue.hpp"
#include "studio_testing.hpp"
#include "widgets/timeline_widget.hpp"

namespace sb = reelforge::storyboard;

namespace {

// A clean document holding `shots`.
void load(StoryboardDocument& document, std::vector<sb::Shot> shots) {
  sb::Storyboard board;
  board.title = "Editor test";
  board.project.model = "not-installed-model";
  board.shots = std::move(shots);
  document.restore(sb::to_json_text(board), {});
  document.undoStack()->setClean();
}

}  // namespace

class TestEditor : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<QTemporaryDir> temp_;

  MainWindowOptions options() const {
    MainWindowOptions o;
    o.settingsFile = temp_->filePath("studio.ini");
    o.autosaveFolder = temp_->filePath("autosave");
    o.galleryDatabase = temp_->filePath("gallery.sqlite");
    return o;
  }

 private slots:
  void init() {
    temp_ = std::make_unique<QTemporaryDir>();
    QVERIFY(temp_->isValid());
  }
  void cleanup() { temp_.reset(); }

  void mainWindowOpensWithEveryDock() {
    MainWindow window(options());
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(window.timeline()->isVisible());
    QVERIFY(window.inspector() && window.projectSettings());
    QVERIFY(window.renderQueueDock() && window.player() && window.modelsDock());
    QVERIFY(window.galleryDock());
    QCOMPARE(window.document()->shotCount(), 1);
    QVERIFY(!window.isWindowModified());
  }

  void inspectorEditsReachTheDocument() {
    StoryboardDocument document;
    load(document, {makeShot("a", 2, ""), makeShot("b", 3)});
    ShotInspector inspector(&document);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    inspector.setShot("a");

    // Typing: one undo step for the whole word.
    inspector.promptEdit()->setFocus();
    QTest::keyClicks(inspector.promptEdit(), "a red ball");
    QCOMPARE(document.shot(0).prompt, std::string("a red ball"));
    QCOMPARE(document.undoStack()->count(), 1);
    QVERIFY(inspector.promptTokensLabel()->text().contains("/ 512 tokens"));
    QTest::keyClicks(inspector.negativePromptEdit(), "blur");
    QCOMPARE(document.shot(0).negative_prompt, std::string("blur"));
    QCOMPARE(document.undoStack()->count(), 2);

    inspector.durationSpin()->setValue(4.5);
    QCOMPARE(document.shot(0).duration_s, 4.5);

    inspector.setKeyframeFile(assetPath("media/keyframe.jpg"));
    QVERIFY(document.shot(0).keyframe.has_value());
    QCOMPARE(QString::fromStdString(document.shot(0).keyframe->path),
             assetPath("media/keyframe.jpg"));
    inspector.keyframeAtCombo()->setCurrentIndex(1);
    QCOMPARE(document.shot(0).keyframe->at, sb::KeyframeAt::Last);

    // Its thumbnail arrives from the decoder thread.
    auto* keyframeThumb = inspector.findChild<QLabel*>("keyframeThumbnail");
    QVERIFY(keyframeThumb);
    QTRY_VERIFY_WITH_TIMEOUT(!keyframeThumb->pixmap().isNull(), 30000);
    inspector.setSourceClipFile(assetPath("media/source.mp4"));
    QVERIFY(document.shot(0).source_video.has_value());
    inspector.strengthSpin()->setValue(0.25);
    QCOMPARE(document.shot(0).source_video->strength, 0.25);

    inspector.seedLockCheck()->setChecked(true);
    QVERIFY(document.shot(0).seed.has_value());
    QCOMPARE(*document.shot(0).seed, document.storyboard().effective_seed(document.shot(0)));
    const uint64_t locked = *document.shot(0).seed;
    inspector.randomiseSeed();
    QVERIFY(*document.shot(0).seed != locked);
    QCOMPARE(inspector.seedEdit()->text(), QString::number(*document.shot(0).seed));

    // The second shot can fade in from the first.
    inspector.setShot("b");
    inspector.transitionCombo()->setCurrentIndex(1);
    QCOMPARE(document.shot(1).transition.kind, sb::TransitionKind::Crossfade);
    QCOMPARE(document.shot(1).transition.duration_s, 0.5);
    inspector.crossfadeSpin()->setValue(1.0);
    QCOMPARE(document.shot(1).transition.duration_s, 1.0);
    // The core forbids continuing a shot that crossfades in: refused, the box unticks itself.
    QSignalSpy refused(&document, &StoryboardDocument::editRefused);
    inspector.continuityCheck()->setChecked(true);
    QCOMPARE(refused.count(), 1);
    QVERIFY(refused.at(0).at(0).toString().contains("continuity"));
    QCOMPARE(document.shot(1).continuity, sb::Continuity::Cut);
    QVERIFY(!inspector.continuityCheck()->isChecked());
    inspector.transitionCombo()->setCurrentIndex(0);
    QCOMPARE(document.shot(1).transition.kind, sb::TransitionKind::Cut);
    QCOMPARE(document.shot(1).transition.duration_s, 0.0);
    inspector.continuityCheck()->setChecked(true);
    QCOMPARE(document.shot(1).continuity, sb::Continuity::Continue);

    // Every edit undoes, in order, back to the loaded document.
    while (document.undoStack()->canUndo()) document.undoStack()->undo();
    QCOMPARE(document.shot(0).prompt, std::string());
    QCOMPARE(document.shot(0).duration_s, 2.0);
    QVERIFY(!document.shot(0).keyframe && !document.shot(0).source_video && !document.shot(0).seed);
    QCOMPARE(document.shot(1).transition.kind, sb::TransitionKind::Cut);
    QVERIFY(!document.isDirty());
    // The inspector follows the document.
    inspector.setShot("a");
    QCOMPARE(inspector.promptEdit()->toPlainText(), QString());
    QCOMPARE(inspector.durationSpin()->value(), 2.0);
  }

  void tokenCountSaysWhereItComesFrom() {
    StoryboardDocument document;
    load(document, {makeShot("a", 2, "hello")});
    ShotInspector inspector(&document);
    inspector.setShot("a");
    // No such model is installed: the core's upper bound, code points + 2.
    QVERIFY(!inspector.tokenCounter().exact());
    QVERIFY(inspector.promptTokensLabel()->text().startsWith("7 / 512"));
    QVERIFY(inspector.tokenCounter().source().contains("estimate"));
    QVERIFY(inspector.tokenCounter().detail().contains("upper bound"));
    QVERIFY(inspector.tokenCounter().detail().contains("not-installed-model"));
  }

  void projectSettingsEditTheProject() {
    StoryboardDocument document;
    load(document, {makeShot("a", 2)});
    ProjectSettingsDock dock(&document);
    dock.aspectButtons()->button(static_cast<int>(reelforge::media::Aspect::Vertical))->click();
    QCOMPARE(document.storyboard().project.aspect, reelforge::media::Aspect::Vertical);
    dock.resolutionCombo()->setCurrentIndex(0);
    QCOMPARE(document.storyboard().project.resolution, reelforge::media::Resolution::P480);
    QCOMPARE(dock.outputSizeLabel()->text(), QString("480 × 854 px"));
    dock.fpsSpin()->setValue(30);
    QCOMPARE(document.storyboard().project.fps, 30.0);
    dock.qualityCombo()->setCurrentIndex(1);
    QCOMPARE(document.storyboard().project.quality, sb::QualityPreset::Final);
    QTest::keyClicks(dock.titleEdit(), " two");
    QCOMPARE(document.storyboard().title, std::string("Editor test two"));
    // The model is not installed, and the dock says so.
    QVERIFY(dock.modelInfoLabel()->text().contains("not installed"));
    QCOMPARE(document.undoStack()->count(), 5);
    document.undoStack()->undo();
    QCOMPARE(document.storyboard().title, std::string("Editor test"));
    QCOMPARE(dock.titleEdit()->text(), QString("Editor test"));
    // 8 fps is the lowest; a frame rate that makes a shot shorter than a frame is refused.
    load(document, {makeShot("a", 0.1)});
    QSignalSpy refused(&document, &StoryboardDocument::editRefused);
    dock.fpsSpin()->setValue(8);
    QCOMPARE(refused.count(), 1);
    QCOMPARE(document.storyboard().project.fps, 24.0);
    QCOMPARE(dock.fpsSpin()->value(), 24.0);
  }

  void overLongEditIsRefusedWithAVisibleMessage() {
    MainWindow window(options());
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    StoryboardDocument* document = window.document();
    load(*document, {makeShot("a", 8), makeShot("b", 8), makeShot("c", 2)});
    window.timeline()->selectIndex(2);
    QCOMPARE(window.inspector()->shotId(), QString("c"));
    QVERIFY(!window.isMessageVisible());

    window.inspector()->durationSpin()->setValue(6);  // 8 + 8 + 6 = 22 s
    QCOMPARE(document->shot(2).duration_s, 2.0);
    QCOMPARE(document->undoStack()->count(), 0);
    QVERIFY(window.isMessageVisible());
    QVERIFY2(window.messageLabel()->text().contains("20 s"),
             qPrintable(window.messageLabel()->text()));
    QCOMPARE(window.inspector()->durationSpin()->value(), 2.0);

    // An edit within the limit goes through and clears the complaint.
    window.inspector()->durationSpin()->setValue(4);
    QCOMPARE(document->shot(2).duration_s, 4.0);
    QVERIFY(!window.isMessageVisible());
  }

  void saveAndOpenRoundTrip() {
    const QString file = temp_->filePath("story.json");
    sb::Storyboard saved;
    {
      MainWindow window(options());
      StoryboardDocument* document = window.document();
      load(*document, {makeShot("a", 2, "first"), makeShot("b", 3, "second")});
      window.timeline()->selectIndex(1);
      window.timeline()->duplicateSelection();
      QVERIFY(window.isWindowModified());
      QVERIFY(window.saveDocumentAs(file));
      QVERIFY(QFile::exists(file));
      QVERIFY(!window.isWindowModified());
      QVERIFY(window.windowTitle().contains("story.json"));
      QCOMPARE(window.recentFiles().value(0), QFileInfo(file).absoluteFilePath());
      saved = document->storyboard();
      // A second save keeps the first as .bak (the core's atomic save).
      window.timeline()->selectIndex(0);
      window.timeline()->deleteSelection();
      QVERIFY(window.saveDocument());
      QVERIFY(QFile::exists(file + ".bak"));
    }
    MainWindow window(options());
    QVERIFY(window.openFile(temp_->filePath("story.json.bak")));
    QVERIFY(window.document()->storyboard() == saved);
    QVERIFY(!window.isWindowModified());
    QVERIFY(window.openFile(file));
    QCOMPARE(window.document()->shotCount(), 2);
    QCOMPARE(window.recentFiles().size(), 2);
    // A file that is not a storyboard is refused with a message; the document stays.
    QFile junk(temp_->filePath("junk.json"));
    QVERIFY(junk.open(QIODevice::WriteOnly));
    junk.write("{ not json");
    junk.close();
    QVERIFY(!window.openFile(junk.fileName()));
    QVERIFY(window.isMessageVisible());
    QCOMPARE(window.document()->shotCount(), 2);
  }

  void saveAsElsewhereKeepsMediaPaths() {
    MainWindow window(options());
    QVERIFY(window.openFile(assetPath("storyboards/demo.json")));
    const auto keyframe =
        window.document()->resolveMedia(window.document()->shot(1).keyframe->path);
    QVERIFY(std::filesystem::exists(keyframe));
    const QString copy = temp_->filePath("moved/demo-copy.json");
    QVERIFY(QDir().mkpath(temp_->filePath("moved")));
    QVERIFY(window.saveDocumentAs(copy));
    const sb::Storyboard reloaded = sb::load(copy.toStdString());  // validates media: must exist
    QCOMPARE(reloaded.shots.size(), size_t(3));
    QCOMPARE(window.document()->resolveMedia(window.document()->shot(1).keyframe->path), keyframe);
  }

  void autosaveAndRecoveryAfterACrash() {
    const QString file = temp_->filePath("work.json");
    {
      MainWindow window(options());
      load(*window.document(), {makeShot("a", 2, "before the crash")});
      QVERIFY(window.saveDocumentAs(file));
      QVERIFY(!window.autosave()->saveNow());  // nothing unsaved: nothing written
      QVERIFY(Autosave::recoverable(options().autosaveFolder).isEmpty());
      window.timeline()->selectIndex(0);
      window.timeline()->duplicateSelection();
      sb::Shot shot = window.document()->shot(1);
      shot.prompt = "unsaved work";
      QVERIFY(window.document()->editShot(shot, "edit"));
      // The interval timer does this; the test does not wait a minute for it.
      QVERIFY(window.autosave()->saveNow());
      QVERIFY(QFile::exists(window.autosave()->copyPath()));
      // The window dies without closing: what a crash leaves behind.
    }
    const QList<AutosaveCopy> copies = Autosave::recoverable(options().autosaveFolder);
    QCOMPARE(copies.size(), 1);
    QCOMPARE(copies[0].filePath, QFileInfo(file).absoluteFilePath());

    MainWindow window(options());
    QVERIFY(window.restoreAutosave(copies[0]));
    QCOMPARE(window.document()->shotCount(), 2);
    QCOMPARE(window.document()->shot(1).prompt, std::string("unsaved work"));
    QCOMPARE(window.document()->filePath(), QFileInfo(file).absoluteFilePath());
    QVERIFY(window.document()->isDirty());
    QVERIFY(window.isWindowModified());
    QVERIFY(window.isMessageVisible());
    // Saving makes the file the newest version: nothing left to recover.
    QVERIFY(window.saveDocument());
    QVERIFY(Autosave::recoverable(options().autosaveFolder).isEmpty());
    QCOMPARE(sb::load(file.toStdString()).shots.at(1).prompt, std::string("unsaved work"));
  }

  void autosaveRunsOnItsTimer() {
    MainWindow window(options());
    QCOMPARE(window.autosave()->intervalSeconds(), Autosave::kDefaultIntervalSeconds);
    window.autosave()->setIntervalSeconds(1);
    QSignalSpy written(window.autosave(), &Autosave::autosaved);
    window.timeline()->addShot();
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(window.autosave()->copyPath()), 15000);
    QCOMPARE(written.count(), 1);
  }

  void autosaveWritesOnlyWhatChanged() {
    MainWindow window(options());
    load(*window.document(), {makeShot("a", 2, "one")});
    window.timeline()->selectIndex(0);
    window.timeline()->duplicateSelection();  // undo index 1
    QVERIFY(window.autosave()->saveNow());
    QVERIFY(!window.autosave()->saveNow());  // nothing new
    // Undo, then another edit: the undo index is 1 again, but the document differs.
    window.document()->undoStack()->undo();
    window.timeline()->addShot();
    QVERIFY(window.autosave()->saveNow());
    const QList<AutosaveCopy> copies = Autosave::recoverable(options().autosaveFolder);
    QCOMPARE(copies.size(), 1);
    StoryboardDocument restored;
    restored.restore(copies[0].storyboardJson, {});
    QVERIFY(restored.storyboard() == window.document()->storyboard());
  }

  void autosaveOlderThanTheFileIsNotOffered() {
    const QString file = temp_->filePath("older.json");
    {
      MainWindow window(options());
      load(*window.document(), {makeShot("a", 2)});
      QVERIFY(window.saveDocumentAs(file));
      window.timeline()->addShot();
      QVERIFY(window.autosave()->saveNow());
    }
    QCOMPARE(Autosave::recoverable(options().autosaveFolder).size(), 1);
    // The file was saved again later (by another session): the copy is stale.
    QTest::qWait(20);
    sb::Storyboard board = sb::load(file.toStdString());
    sb::save(board, file.toStdString());
    QVERIFY(Autosave::recoverable(options().autosaveFolder).isEmpty());
  }

  void layoutPersists() {
    QByteArray state;
    double zoom = 0;
    {
      MainWindow window(options());
      window.show();
      QVERIFY(QTest::qWaitForWindowExposed(&window));
      window.resize(1111, 777);
      window.modelsDock()->hide();
      window.removeDockWidget(window.projectSettings());
      window.addDockWidget(Qt::LeftDockWidgetArea, window.projectSettings());
      window.projectSettings()->show();
      // Until the user zooms the timeline fits the view; a zoom is remembered.
      window.zoomInAction()->trigger();
      window.zoomInAction()->trigger();
      zoom = window.timeline()->pixelsPerSecond();
      QVERIFY(window.close());  // clean document: closes without asking
      QSettings settings(options().settingsFile, QSettings::IniFormat);
      state = settings.value("mainWindow/state").toByteArray();
      QVERIFY(!state.isEmpty());
    }
    MainWindow window(options());
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.size(), QSize(1111, 777));
    QVERIFY(window.modelsDock()->isHidden());
    QCOMPARE(window.dockWidgetArea(window.projectSettings()), Qt::LeftDockWidgetArea);
    QCOMPARE(window.timeline()->pixelsPerSecond(), zoom);
  }

  void renderRefusesAStoryboardWithProblems() {
    MainWindow window(options());
    load(*window.document(), {makeShot("a", 2, "")});
    QVERIFY(!window.render());
    QVERIFY(window.isMessageVisible());
    QVERIFY(window.messageLabel()->text().contains("empty prompt"));
    QVERIFY(window.renderQueue()->jobIds().isEmpty());
  }

  void draftRenderLeavesTheProjectsQualityAlone() {
    MainWindow window(options());
    load(*window.document(), {makeShot("a", 2, "a red ball")});
    sb::ProjectSettings project = window.document()->storyboard().project;
    project.quality = sb::QualityPreset::Final;
    QVERIFY(window.document()->editProject(project, "quality", {}));
    window.renderDraftAction()->trigger();
    const QList<int> ids = window.renderQueue()->jobIds();
    QCOMPARE(ids.size(), 1);
    const auto job = window.renderQueue()->job(ids.first());
    QVERIFY2(job->output.endsWith(QStringLiteral("-draft.mp4")), qPrintable(job->output));
    const QJsonObject queued = QJsonDocument::fromJson(job->storyboardJson.toUtf8()).object();
    QCOMPARE(queued["project"].toObject()["quality"].toString(), QStringLiteral("draft"));
    QCOMPARE(window.document()->storyboard().project.quality, sb::QualityPreset::Final);
    // The model is not installed: the job fails with the core's message and writes nothing.
    QTRY_VERIFY_WITH_TIMEOUT(window.renderQueue()->isIdle(), 60000);
    QVERIFY(!QFileInfo::exists(job->output));
  }

  void featuredStoryboardOpensAsANewProject() {
    MainWindow window(options());
    QVERIFY(window.openAsNewProject(assetPath("storyboards/demo.json")));
    QVERIFY(window.document()->filePath().isEmpty());
    QVERIFY(window.document()->isDirty());
    QCOMPARE(window.document()->shotCount(), 3);
    // Media paths were made absolute, so they work wherever the project is saved.
    QVERIFY(std::filesystem::path(window.document()->shot(1).keyframe->path).is_absolute());
    QVERIFY(std::filesystem::exists(window.document()->shot(1).keyframe->path));
  }
};

QTEST_MAIN(TestEditor)
#include "test_editor.moc"
