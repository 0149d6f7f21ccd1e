// The gallery's index on a real SQLite file (insert, search, delete, schema, crash safety with a
// writer process killed mid-write) and the gallery dock over it (Recent, Featured, drag payload).

#include <sqlite3.h>
#include <QApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <cstdio>

#include "docks/gallery_dock.hpp"
#include "models/gallery_index.hpp"
#include "reelforge/core/error.hpp"

namespace {

GalleryEntry makeEntry(const QString& dir, const QString& name, const QString& prompt,
                       const QString& model, int minutesAgo) {
  GalleryEntry e;
  e.clipPath = QDir(dir).filePath(name);
  QFile clip(e.clipPath);
  clip.open(QIODevice::WriteOnly);
  clip.write("not really a video");
  e.prompt = prompt;
  e.model = model;
  e.seed = 1234567890123ull;
  e.created = QDateTime::currentDateTimeUtc().addSecs(-60 * minutesAgo);
  e.storyboardPath = QDir(dir).filePath(QStringLiteral("project.json"));
  e.storyboardJson = QStringLiteral("{\"title\": \"%1\"}").arg(name);
  e.durationSeconds = 2.5;
  e.width = 80;
  e.height = 48;
  return e;
}

QImage thumbnail(QColor color) {
  QImage image(32, 18, QImage::Format_RGB888);
  image.fill(color);
  return image;
}

QString integrityCheck(const QString& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
  QString result;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    result = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// The child process of crashSafety(): inserts renders as fast as it can and reports each commit
// on stdout, until it is killed.
int runWriter(const QString& dbPath) {
  GalleryIndex index(dbPath);
  for (int i = 1;; ++i) {
    GalleryEntry e =
        makeEntry(QFileInfo(dbPath).absolutePath(), QStringLiteral("w%1.mp4").arg(i),
                  QStringLiteral("writer prompt %1").arg(i), QStringLiteral("tiny"), 0);
    e.storyboardJson = QString(20000, QLatin1Char('x'));  // big rows: more time mid-write
    index.insert(e, thumbnail(Qt::blue));
    std::printf("%d\n", i);
    std::fflush(stdout);
  }
}

}  // namespace

class TestGallery : public QObject {
  Q_OBJECT

 private slots:
  void init();
  void insertsSearchesAndReadsBack();
  void deletesRowsThumbnailsAndOptionallyClips();
  void keepsItsSchemaAndJournalMode();
  void survivesAWriterKilledMidWrite();
  void dockListsSearchesAndActsOnRecent();
  void dockShowsFeaturedAndDragsItems();

 private:
  QString dbPath() const {
    return QDir(dir_->path()).filePath(QStringLiteral("data/gallery.sqlite"));
  }
  std::unique_ptr<QTemporaryDir> dir_;
};

void TestGallery::init() {
  dir_ = std::make_unique<QTemporaryDir>();
  QVERIFY(dir_->isValid());
}

void TestGallery::insertsSearchesAndReadsBack() {
  GalleryIndex index(dbPath());
  QVERIFY(QFileInfo::exists(dbPath()));
  QCOMPARE(index.count(), 0);
  QSignalSpy changed(&index, &GalleryIndex::changed);
  const QString d = dir_->path();
  const qint64 a = index.insert(makeEntry(d, "a.mp4", "A red ball rolls left", "builtin", 30),
                                thumbnail(Qt::red));
  const qint64 b =
      index.insert(makeEntry(d, "b.mp4", "A blue square grows\nThen it shrinks", "wan2.1-t2v", 20));
  const qint64 c =
      index.insert(makeEntry(d, "c.mp4", "Red sky at 100% sunset_glow", "builtin", 10));
  QCOMPARE(changed.count(), 3);
  QCOMPARE(index.count(), 3);
  QVERIFY(a > 0 && b > a && c > b);

  const std::optional<GalleryEntry> e = index.entry(a);
  QVERIFY(e);
  QCOMPARE(e->clipPath, QDir(d).filePath("a.mp4"));
  QCOMPARE(e->prompt, QStringLiteral("A red ball rolls left"));
  QCOMPARE(e->model, QStringLiteral("builtin"));
  QCOMPARE(e->seed, 1234567890123ull);
  QCOMPARE(e->storyboardJson, QStringLiteral("{\"title\": \"a.mp4\"}"));
  QCOMPARE(e->durationSeconds, 2.5);
  QCOMPARE(e->width, 80);
  QVERIFY(qAbs(e->created.secsTo(QDateTime::currentDateTimeUtc()) - 30 * 60) < 5);
  QVERIFY(e->thumbnailPath.startsWith(index.thumbnailFolder()));
  QImage png(e->thumbnailPath);
  QCOMPARE(png.size(), QSize(32, 18));
  QCOMPARE(png.pixelColor(3, 3), QColor(Qt::red));
  QVERIFY(index.entry(b)->thumbnailPath.isEmpty());
  QVERIFY(!index.entry(9999));

  auto ids = [&](const QString& text) {
    QList<qint64> out;
    for (const GalleryEntry& g : index.search(text)) out << g.id;
    return out;
  };
  QCOMPARE(ids({}), (QList<qint64>{c, b, a}));    // newest first
  QCOMPARE(ids("red"), (QList<qint64>{c, a}));    // case-insensitive
  QCOMPARE(ids("RED ball"), (QList<qint64>{a}));  // every word must match
  QCOMPARE(ids("shrinks"), (QList<qint64>{b}));   // any line of the prompt
  QCOMPARE(ids("wan2.1"), (QList<qint64>{b}));    // the model
  QCOMPARE(ids("100%"), (QList<qint64>{c}));      // LIKE wildcards are literal
  QCOMPARE(ids("%"), (QList<qint64>{c}));
  QCOMPARE(ids("sunset_glow"), (QList<qint64>{c}));
  QCOMPARE(ids("sunset_"), (QList<qint64>{c}));
  QCOMPARE(ids("r_d"), QList<qint64>{});
  QCOMPARE(ids("green"), QList<qint64>{});
  QCOMPARE(index.search({}, 2).size(), 2);

  // The same clip again (a re-render to the same file) replaces its row.
  const qint64 again = index.insert(makeEntry(d, "a.mp4", "A red ball rolls right", "builtin", 0));
  QCOMPARE(index.count(), 3);
  QVERIFY(!index.entry(a));
  QCOMPARE(index.entry(again)->prompt, QStringLiteral("A red ball rolls right"));

  // Another handle on the same file sees the rows (WAL readers).
  GalleryIndex second(dbPath());
  QCOMPARE(second.count(), 3);
}

void TestGallery::deletesRowsThumbnailsAndOptionallyClips() {
  GalleryIndex index(dbPath());
  const QString d = dir_->path();
  const qint64 keep =
      index.insert(makeEntry(d, "keep.mp4", "kept clip", "m", 2), thumbnail(Qt::green));
  const qint64 gone =
      index.insert(makeEntry(d, "gone.mp4", "deleted clip", "m", 1), thumbnail(Qt::blue));
  QFile sidecar(QDir(d).filePath("gone.mp4.provenance.json"));
  QVERIFY(sidecar.open(QIODevice::WriteOnly));
  sidecar.close();
  const QString keepThumb = index.entry(keep)->thumbnailPath;
  const QString goneThumb = index.entry(gone)->thumbnailPath;
  QVERIFY(QFileInfo::exists(keepThumb) && QFileInfo::exists(goneThumb));

  QVERIFY(index.remove(keep));  // index only: the clip stays
  QVERIFY(!index.entry(keep));
  QVERIFY(!QFileInfo::exists(keepThumb));
  QVERIFY(QFileInfo::exists(QDir(d).filePath("keep.mp4")));

  QVERIFY(index.remove(gone, RemoveFiles::AlsoClip));
  QVERIFY(!QFileInfo::exists(goneThumb));
  QVERIFY(!QFileInfo::exists(QDir(d).filePath("gone.mp4")));
  QVERIFY(!QFileInfo::exists(QDir(d).filePath("gone.mp4.provenance.json")));
  QCOMPARE(index.count(), 0);
  QVERIFY(!index.remove(gone));
  QVERIFY(!index.remove(12345));
}

void TestGallery::keepsItsSchemaAndJournalMode() {
  {
    GalleryIndex index(dbPath());
    QCOMPARE(index.journalMode(), QStringLiteral("wal"));
    QCOMPARE(index.schemaVersion(), GalleryIndex::kSchemaVersion);
    index.insert(makeEntry(dir_->path(), "x.mp4", "persisted", "m", 0));
  }
  {
    GalleryIndex reopened(dbPath());  // an existing database opens as it was
    QCOMPARE(reopened.count(), 1);
    QCOMPARE(reopened.search("persisted").size(), 1);
  }
  // A database from a newer build is refused, not misread.
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(dbPath().toUtf8().constData(), &db), SQLITE_OK);
  QCOMPARE(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    GalleryIndex newer(dbPath());
    QFAIL("a newer schema was opened");
  } catch (const reelforge::Error& e) {
    QCOMPARE(e.category(), reelforge::ErrorCategory::Unsupported);
  }
  // A path that cannot be a database.
  QVERIFY_THROWS_EXCEPTION(reelforge::Error,
                           GalleryIndex(QStringLiteral("/proc/no/such/gallery.sqlite")));
}

// A writer process is killed (SIGKILL, no clean-up at all) while it inserts: every render it
// reported as committed is there, complete, with its thumbnail, and the file is intact.
void TestGallery::survivesAWriterKilledMidWrite() {
  QProcess writer;
  writer.setProgram(QCoreApplication::applicationFilePath());
  writer.setArguments({QStringLiteral("--gallery-writer"), dbPath()});
  writer.start();
  QVERIFY(writer.waitForStarted());
  int committed = 0;
  QByteArray out;
  while (committed < 25) {
    QVERIFY2(writer.waitForReadyRead(30000), "the writer stopped reporting");
    out += writer.readAllStandardOutput();
    const QList<QByteArray> lines = out.split('\n');
    for (int i = lines.size() - 2; i >= 0; --i) {
      if (!lines[i].isEmpty()) {
        committed = lines[i].toInt();
        break;
      }
    }
  }
  writer.kill();  // SIGKILL: mid-transaction more often than not
  QVERIFY(writer.waitForFinished());
  QCOMPARE(writer.exitStatus(), QProcess::CrashExit);
  out += writer.readAllStandardOutput();

  GalleryIndex index(dbPath());
  QCOMPARE(integrityCheck(dbPath()), QStringLiteral("ok"));
  QCOMPARE(index.journalMode(), QStringLiteral("wal"));
  const QList<GalleryEntry> rows = index.search({}, 100000);
  QVERIFY2(rows.size() >= committed,
           qPrintable(QStringLiteral("%1 rows, %2 reported").arg(rows.size()).arg(committed)));
  for (const GalleryEntry& e : rows) {
    QVERIFY(e.prompt.startsWith(QStringLiteral("writer prompt ")));
    QCOMPARE(e.storyboardJson.size(), 20000);
    QVERIFY2(!QImage(e.thumbnailPath).isNull(), qPrintable(e.thumbnailPath));
  }
  // And it takes new renders.
  index.insert(makeEntry(dir_->path(), "after.mp4", "after the crash", "m", 0));
  QCOMPARE(index.search("after the crash").size(), 1);
}

void TestGallery::dockListsSearchesAndActsOnRecent() {
  GalleryIndex index(dbPath());
  const QString d = dir_->path();
  index.insert(makeEntry(d, "one.mp4", "A red ball rolls left", "builtin", 3), thumbnail(Qt::red));
  const qint64 two = index.insert(makeEntry(d, "two.mp4", "A green cube spins", "builtin", 2));
  GalleryDock dock(&index);
  dock.setFeaturedFolder(QDir(d).filePath("no-featured"));
  dock.show();
  QListWidget* recent = dock.recentList();
  QCOMPARE(recent->count(), 2);
  QCOMPARE(recent->item(0)->text(), QStringLiteral("A green cube spins"));  // newest first

  // A new render shows up without a refresh call.
  index.insert(makeEntry(d, "three.mp4", "A red square falls", "builtin", 1));
  QCOMPARE(recent->count(), 3);

  QTest::keyClicks(dock.searchBox(), QStringLiteral("red"));
  QCOMPARE(recent->count(), 2);
  dock.searchBox()->clear();
  QCOMPARE(recent->count(), 3);

  // Drag payload of the selected item.
  recent->setCurrentRow(1);  // "A green cube spins"
  QCOMPARE(recent->currentItem()->text(), QStringLiteral("A green cube spins"));
  std::unique_ptr<QMimeData> mime(GalleryDock::mimeDataFor(*index.entry(two)));
  QVERIFY(mime->hasFormat(GalleryDock::kMimeType));
  const QJsonObject payload = QJsonDocument::fromJson(mime->data(GalleryDock::kMimeType)).object();
  QCOMPARE(payload.value("clip").toString(), QDir(d).filePath("two.mp4"));
  QCOMPARE(payload.value("storyboard").toString(), QDir(d).filePath("project.json"));
  QCOMPARE(payload.value("prompt").toString(), QStringLiteral("A green cube spins"));
  // The list itself produces the same payload for a drag.
  std::unique_ptr<QMimeData> dragged(recent->model()->mimeData({recent->currentIndex()}));
  QVERIFY(dragged);
  QCOMPARE(dragged->data(GalleryDock::kMimeType), mime->data(GalleryDock::kMimeType));

  QSignalSpy play(&dock, &GalleryDock::playRequested);
  QSignalSpy remix(&dock, &GalleryDock::remixRequested);
  dock.openSelected();
  QCOMPARE(play.count(), 1);
  QCOMPARE(play.first().first().toString(), QDir(d).filePath("two.mp4"));
  dock.remixSelected();
  QCOMPARE(remix.count(), 1);
  QCOMPARE(remix.first().at(0).toString(), QStringLiteral("{\"title\": \"two.mp4\"}"));

  // Delete through the button: the row goes, the clip stays.
  QPushButton* deleteButton = nullptr;
  for (QPushButton* b : dock.findChildren<QPushButton*>()) {
    if (b->text() == QStringLiteral("Delete")) deleteButton = b;
  }
  QVERIFY(deleteButton);
  QTest::mouseClick(deleteButton, Qt::LeftButton);
  QCOMPARE(recent->count(), 2);
  QVERIFY(!index.entry(two));
  QVERIFY(QFileInfo::exists(QDir(d).filePath("two.mp4")));

  // A clip that is gone cannot be opened: a message, not a broken player.
  QFile::remove(QDir(d).filePath("one.mp4"));
  QSignalSpy errors(&dock, &GalleryDock::errorOccurred);
  recent->setCurrentRow(recent->count() - 1);  // the oldest: "one"
  dock.openSelected();
  QCOMPARE(errors.count(), 1);
  QCOMPARE(play.count(), 1);
}

void TestGallery::dockShowsFeaturedAndDragsItems() {
  const QDir featured(QDir(dir_->path()).filePath("featured"));
  QVERIFY(featured.mkpath("."));
  QFile json(featured.filePath("sunset.json"));
  QVERIFY(json.open(QIODevice::WriteOnly));
  json.write(R"({"format": "reelforge.storyboard", "version": 1, "title": "Sunset ride",
                 "shots": [{"id": "a", "prompt": "A ball rolls at sunset", "duration_s": 2}]})");
  json.close();
  QVERIFY(thumbnail(Qt::yellow).save(featured.filePath("sunset.png")));
  GalleryIndex index(dbPath());
  GalleryDock dock(&index);
  dock.setFeaturedFolder(featured.path());
  QListWidget* list = dock.featuredList();
  QCOMPARE(list->count(), 1);
  QCOMPARE(list->item(0)->text(), QStringLiteral("Sunset ride"));
  QVERIFY(!list->item(0)->icon().isNull());
  QSignalSpy open(&dock, &GalleryDock::newProjectRequested);
  emit list->itemActivated(list->item(0));
  QCOMPARE(open.count(), 1);
  QCOMPARE(open.first().first().toString(), featured.filePath("sunset.json"));
  list->setCurrentRow(0);
  std::unique_ptr<QMimeData> mime(list->model()->mimeData({list->currentIndex()}));
  const QJsonObject payload = QJsonDocument::fromJson(mime->data(GalleryDock::kMimeType)).object();
  QCOMPARE(payload.value("storyboard").toString(), featured.filePath("sunset.json"));
  QVERIFY(payload.value("clip").isNull());
  QCOMPARE(payload.value("prompt").toString(), QStringLiteral("A ball rolls at sunset"));

  // The shipped examples load too.
  dock.setFeaturedFolder(GalleryDock::defaultFeaturedFolder());
  QVERIFY2(list->count() >= 3, qPrintable(GalleryDock::defaultFeaturedFolder()));
}

int main(int argc, char** argv) {
  if (argc == 3 && qstrcmp(argv[1], "--gallery-writer") == 0) {
    QCoreApplication app(argc, argv);
    return runWriter(QString::fromLocal8Bit(argv[2]));
  }
  QApplication app(argc, argv);
  TestGallery test;
  return QTest::qExec(&test, argc, argv);
}

#include "test_gallery.moc"
