// The preview player on a real clip written with the core's encoder (media::VideoWriter): each
// frame is a flat colour that encodes its index, so the frame on screen can be read back exactly
// after steps, seeks, scrubs and playback.

#include <QApplication>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <opencv2/core.hpp>

#include "reelforge/media/video_writer.hpp"
#include "widgets/preview_player.hpp"

namespace {

constexpr int kFrames = 24;
constexpr int kFps = 12;

// Red carries the index (in steps of 10, far above the codec's error), green its complement.
cv::Mat frameFor(int index) {
  return cv::Mat(48, 64, CV_8UC3, cv::Scalar(index * 10, 255 - index * 10, 60));
}

// The index of the frame shown, from its centre pixel; -1 when it is none of ours.
int indexOf(const QImage& image) {
  if (image.isNull()) return -1;
  const QColor c = image.pixelColor(image.width() / 2, image.height() / 2);
  const int index = qRound(c.red() / 10.0);
  if (std::abs(c.red() - index * 10) > 4 || std::abs(c.green() - (255 - index * 10)) > 4) return -1;
  return index;
}

}  // namespace

class TestPlayer : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void opensAClipAndShowsItsMetadata();
  void stepsAndSeeksToTheRightFrame();
  void scrubsWithTheSlider();
  void findsFramesBehindItWithATinyCache();
  void playsToTheEndOrLoops();
  void reportsAClipItCannotOpen();

 private:
  void openClip(PreviewPlayer& player);
  QTemporaryDir dir_;
  QString clip_;
};

void TestPlayer::initTestCase() {
  QVERIFY(dir_.isValid());
  clip_ = QDir(dir_.path()).filePath(QStringLiteral("clip.mp4"));
  reelforge::media::VideoWriterOptions options;
  options.size = {64, 48};
  options.fps = {kFps, 1};
  options.crf = 0;
  options.preset = "ultrafast";
  options.metadata.title = "player test";
  options.metadata.reelforge_json =
      R"({"model":{"name":"tiny-player"},"seed":99,"storyboard":{"shots":[{"prompt":"a blue cube"},{"prompt":"a red ball"}]}})";
  reelforge::media::VideoWriter writer(clip_.toStdString(), options);
  for (int i = 0; i < kFrames; ++i) writer.write(frameFor(i));
  writer.finish();
}

void TestPlayer::openClip(PreviewPlayer& player) {
  QSignalSpy opened(&player, &PreviewPlayer::clipOpened);
  player.openClip(clip_);
  QVERIFY(opened.wait(10000));
  QTRY_COMPARE(player.currentFrame(), 0);
}

void TestPlayer::opensAClipAndShowsItsMetadata() {
  PreviewPlayer player;
  openClip(player);
  QVERIFY(player.hasClip());
  const ClipInfo& info = player.clipInfo();
  QCOMPARE(player.frameCount(), kFrames);
  QCOMPARE(info.width, 64);
  QCOMPARE(info.height, 48);
  QCOMPARE(info.fps, double(kFps));
  QCOMPARE(info.model, QStringLiteral("tiny-player"));
  QCOMPARE(info.seed, quint64(99));
  QCOMPARE(info.prompts,
           QStringList({QStringLiteral("a blue cube"), QStringLiteral("a red ball")}));
  QCOMPARE(info.provenance, QStringLiteral("no provenance file"));
  QCOMPARE(indexOf(player.currentImage()), 0);
}

void TestPlayer::stepsAndSeeksToTheRightFrame() {
  PreviewPlayer player;
  openClip(player);
  for (int i = 1; i <= 3; ++i) player.stepForward();
  QTRY_COMPARE(player.currentFrame(), 3);
  QCOMPARE(indexOf(player.currentImage()), 3);
  player.stepBack();
  QTRY_COMPARE(player.currentFrame(), 2);
  QCOMPARE(indexOf(player.currentImage()), 2);
  player.seek(20);
  QTRY_COMPARE(player.currentFrame(), 20);
  QCOMPARE(indexOf(player.currentImage()), 20);
  // Backwards after reading ahead: from the cache or by reopening, the same frame either way.
  player.seek(5);
  QTRY_COMPARE(player.currentFrame(), 5);
  QCOMPARE(indexOf(player.currentImage()), 5);
  player.seek(1000);  // clamped
  QTRY_COMPARE(player.currentFrame(), kFrames - 1);
  QCOMPARE(indexOf(player.currentImage()), kFrames - 1);
  player.stepForward();  // at the end: stays
  QTest::qWait(100);
  QCOMPARE(player.currentFrame(), kFrames - 1);
  player.seek(0);
  QTRY_COMPARE(player.currentFrame(), 0);
  player.stepBack();  // at the start: stays
  QTest::qWait(100);
  QCOMPARE(player.currentFrame(), 0);
}

void TestPlayer::scrubsWithTheSlider() {
  PreviewPlayer player;
  openClip(player);
  auto* slider = player.findChild<QSlider*>();
  QVERIFY(slider);
  QCOMPARE(slider->maximum(), kFrames - 1);
  // A fast scrub: only the last position needs to be shown.
  for (int v : {3, 9, 17, 4, 12}) slider->setValue(v);
  QTRY_COMPARE(player.currentFrame(), 12);
  QCOMPARE(indexOf(player.currentImage()), 12);
  QTest::qWait(200);  // no late frame of the scrub replaces it
  QCOMPARE(player.currentFrame(), 12);
  player.stepForward();
  QTRY_COMPARE(player.currentFrame(), 13);
  QCOMPARE(slider->value(), 13);
  // The keyboard does the same.
  QTest::keyClick(&player, Qt::Key_Right);
  QTest::keyClick(&player, Qt::Key_Right);
  QTRY_COMPARE(player.currentFrame(), 15);
  QCOMPARE(indexOf(player.currentImage()), 15);
  QTest::keyClick(&player, Qt::Key_Left);
  QTRY_COMPARE(player.currentFrame(), 14);
  QTest::keyClick(&player, Qt::Key_End);
  QTRY_COMPARE(player.currentFrame(), kFrames - 1);
  QTest::keyClick(&player, Qt::Key_Home);
  QTRY_COMPARE(player.currentFrame(), 0);
  QCOMPARE(indexOf(player.currentImage()), 0);
}

// With room for one frame, every step back reopens the file and reads forward again.
void TestPlayer::findsFramesBehindItWithATinyCache() {
  PreviewPlayer player;
  player.setFrameCacheBytes(1);
  openClip(player);
  player.seek(17);
  QTRY_COMPARE(player.currentFrame(), 17);
  QCOMPARE(indexOf(player.currentImage()), 17);
  for (int expected = 16; expected >= 12; --expected) {
    player.stepBack();
    QTRY_COMPARE(player.currentFrame(), expected);
    QCOMPARE(indexOf(player.currentImage()), expected);
  }
  player.seek(3);
  QTRY_COMPARE(player.currentFrame(), 3);
  QCOMPARE(indexOf(player.currentImage()), 3);
  player.seek(22);
  QTRY_COMPARE(player.currentFrame(), 22);
  QCOMPARE(indexOf(player.currentImage()), 22);
}

void TestPlayer::playsToTheEndOrLoops() {
  PreviewPlayer player;
  openClip(player);
  QSignalSpy playing(&player, &PreviewPlayer::playingChanged);
  QList<int> shown;
  connect(&player, &PreviewPlayer::frameShown, this, [&](int f) { shown << f; });
  player.seek(kFrames - 6);
  QTRY_COMPARE(player.currentFrame(), kFrames - 6);
  player.play();
  QVERIFY(player.isPlaying());
  QTRY_VERIFY_WITH_TIMEOUT(!player.isPlaying(), 10000);  // stops at the end without loop
  QCOMPARE(player.currentFrame(), kFrames - 1);
  QCOMPARE(indexOf(player.currentImage()), kFrames - 1);
  QCOMPARE(playing.count(), 2);
  for (int i = 1; i < shown.size(); ++i) QVERIFY(shown[i] > shown[i - 1]);  // forward only

  shown.clear();
  player.setLoop(true);
  player.seek(kFrames - 3);
  QTRY_COMPARE(player.currentFrame(), kFrames - 3);
  player.play();
  QTRY_VERIFY_WITH_TIMEOUT(shown.contains(0) && shown.last() >= 2, 10000);  // wrapped around
  QVERIFY(player.isPlaying());
  player.togglePlay();
  QVERIFY(!player.isPlaying());
  const int stoppedAt = player.currentFrame();
  QTest::qWait(300);
  QVERIFY(player.currentFrame() <= stoppedAt + 1);  // at most a frame already in flight
}

void TestPlayer::reportsAClipItCannotOpen() {
  PreviewPlayer player;
  QSignalSpy failed(&player, &PreviewPlayer::openFailed);
  player.openClip(QDir(dir_.path()).filePath(QStringLiteral("missing.mp4")));
  QVERIFY(failed.wait(10000));
  QVERIFY(!player.hasClip());
  QVERIFY(!failed.first().first().toString().isEmpty());
  // Still usable afterwards.
  openClip(player);
  QCOMPARE(indexOf(player.currentImage()), 0);
}

QTEST_MAIN(TestPlayer)
#include "test_player.moc"
