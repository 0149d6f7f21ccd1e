#pragma once
// The index of the user's renders (the gallery's Recent page): a SQLite database in the user data
// folder (gallery.sqlite) with one row per clip, and a PNG thumbnail per clip in a thumbnails/
// folder beside it.
//
// It must survive crashes: the database runs in WAL mode with synchronous=FULL, every change is
// one transaction (a killed process loses at most the change in flight, never earlier rows), and
// a thumbnail is written under its final name (QSaveFile) before the row that names it commits.
// The schema version is kept in PRAGMA user_version and upgraded on open.

#include <QDateTime>
#include <QImage>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <optional>

struct sqlite3;

struct GalleryEntry {
  qint64 id = 0;  // assigned by insert()
  QString clipPath;
  QString thumbnailPath;  // set by insert() when a thumbnail is given
  QString prompt;         // every shot's prompt, one per line
  QString model;
  quint64 seed = 0;
  QDateTime created;       // UTC
  QString storyboardPath;  // the document it was rendered from; may be empty or gone since
  QString storyboardJson;  // the storyboard as rendered, for remixing
  double durationSeconds = 0;
  int width = 0;
  int height = 0;
};

enum class RemoveFiles { IndexOnly, AlsoClip };

class GalleryIndex : public QObject {
  Q_OBJECT

 public:
  static constexpr int kSchemaVersion = 1;
  // user_data_dir()/gallery.sqlite
  static QString defaultPath();

  // Opens (creating it and its folder if needed) the database at `databasePath`. Throws
  // reelforge::Error(Io) when it cannot be opened or written, Error(Unsupported) for a database
  // of a newer schema than this build knows.
  explicit GalleryIndex(const QString& databasePath = defaultPath(), QObject* parent = nullptr);
  ~GalleryIndex() override;

  QString path() const { return path_; }
  QString thumbnailFolder() const;

  // Adds a render and returns its id. `thumbnail`, when not null, is saved as
  // thumbnails/<id>.png first. A clip already in the index is replaced (same path, new row).
  // Throws reelforge::Error(Io) when the write fails; nothing is half-written then.
  qint64 insert(GalleryEntry entry, const QImage& thumbnail = {});
  std::optional<GalleryEntry> entry(qint64 id) const;
  // Newest first. `text` matches (case-insensitively, as a substring) the prompt or the model;
  // words separated by spaces must all match. Empty = everything.
  QList<GalleryEntry> search(const QString& text = {}, int limit = 1000) const;
  // Removes the row and its thumbnail, and with AlsoClip the clip and its provenance sidecar.
  // False when there is no such row.
  bool remove(qint64 id, RemoveFiles files = RemoveFiles::IndexOnly);
  int count() const;

  QString journalMode() const;  // "wal"
  int schemaVersion() const;    // PRAGMA user_version

 signals:
  void changed();

 private:
  void exec(const char* sql) const;
  void migrate();

  QString path_;
  sqlite3* db_ = nullptr;
};
