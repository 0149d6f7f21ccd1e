// The whole path a user takes, through the main window: three shots made by dropping files from
// assets/media onto the timeline, prompts typed in the inspector, a render with a real tiny
// random-weight model (models::write_random_model, image- and video-conditioned), the clip opening
// in the player, and the render listed in the gallery's Recent page.

#include <QApplication>
#include <QDoubleSpinBox>
#include <QListWidget>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>
#include <filesystem>

#include "docks/gallery_dock.hpp"
#include "docks/shot_inspector.hpp"
#include "main_window.hpp"
#include "models/storyboard_document.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/models/model_writer.hpp"
#include "services/render_queue.hpp"
#include "services/studio_settings.hpp"
#include "studio_testing.hpp"
#include "widgets/preview_player.hpp"
#include "widgets/timeline_widget.hpp"

namespace fs = std::filesystem;
namespace sb = reelforge::storyboard;

namespace {

constexpr char kModelName[] = "studio-e2e-tiny";
constexpr int kRenderTimeoutMs = 600000;  // 2 shared cores, possibly under a training run

}  // namespace

class TestEditorRender : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("REELFORGE_DATA", dir_.filePath("data").toUtf8());
    // TI2V: text, keyframe (image-to-video) and source clip (video-to-video) conditioning.
    auto spec = reelforge::models::RandomModelSpec::tiny(reelforge::models::WanModelType::TI2V);
    spec.name = kModelName;
    reelforge::models::write_random_model(
        fs::path(dir_.filePath("models").toStdString()) / kModelName, spec);
    StudioSettings settings(dir_.filePath("studio.ini"));
    settings.setModelFolders({dir_.filePath("models")});
    settings.setOutputFolder(dir_.filePath("renders"));
    settings.setDefaultModel(kModelName);
    settings.setDevice("cpu");
    settings.setThreads(1);
    settings.sync();
  }

  void buildRenderWatchAndFindInRecent() {
    MainWindowOptions options;
    options.settingsFile = dir_.filePath("studio.ini");
    options.autosaveFolder = dir_.filePath("autosave");
    options.galleryDatabase = dir_.filePath("gallery.sqlite");
    MainWindow window(options);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    StoryboardDocument* document = window.document();
    TimelineWidget* timeline = window.timeline();
    QCOMPARE(QString::fromStdString(document->storyboard().project.model), QString(kModelName));

    // Start from an empty track, then drag three files in at once.
    timeline->selectIndex(0);
    timeline->deleteSelection();
    QCOMPARE(document->shotCount(), 0);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(assetPath("media/builtin-keyframe.png")),
                  QUrl::fromLocalFile(assetPath("media/keyframe.jpg")),
                  QUrl::fromLocalFile(assetPath("media/builtin-source.mp4"))});
    const QPoint track(timeline->xAt(2), TimelineWidget::kCardTop + 20);
    QDragEnterEvent enter(track, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(timeline, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(track), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(timeline, &drop);
    QVERIFY(drop.isAccepted());
    QCOMPARE(document->shotCount(), 3);

    // Prompts and short durations through the inspector, as a user would.
    const char* prompts[] = {"a yellow square grows", "a red ball on a dark sky",
                             "an orange ball moves right"};
    for (int i = 0; i < 3; ++i) {
      timeline->selectIndex(i);
      QCOMPARE(window.inspector()->shotId(), QString::fromStdString(document->shot(i).id));
      QTest::keyClicks(window.inspector()->promptEdit(), prompts[i]);
      window.inspector()->durationSpin()->setValue(0.5);
    }
    QCOMPARE(document->storyboard().total_duration_s(), 1.5);
    QVERIFY(document->issues().empty());

    QSignalSpy finished(window.renderQueue(), &RenderQueue::jobFinished);
    QSignalSpy opened(window.player(), &PreviewPlayer::clipOpened);
    QVERIFY(window.render());
    QVERIFY(finished.wait(kRenderTimeoutMs));
    const int id = finished.at(0).at(0).toInt();
    const auto job = window.renderQueue()->job(id);
    QVERIFY(job.has_value());
    QVERIFY2(job->state == RenderJobState::Done, qPrintable(job->error));
    QVERIFY(QFileInfo::exists(job->output));
    QVERIFY(job->output.startsWith(dir_.filePath("renders")));

    // It plays...
    if (opened.isEmpty()) QVERIFY(opened.wait(60000));
    QCOMPARE(window.player()->clipPath(), job->output);
    // ...and is in Recent.
    QTRY_VERIFY_WITH_TIMEOUT(window.galleryDock()->recentList()->count() == 1, 30000);
  }
};

QTEST_MAIN(TestEditorRender)
#include "test_editor_render.moc"
