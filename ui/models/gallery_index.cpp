#include "models/gallery_index.hpp"

#include <sqlite3.h>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/safety/provenance.hpp"

using reelforge::Error;
using reelforge::ErrorCategory;

namespace {

// Renders are written by one process at a time, but a second Studio window or a reindex may
// hold the database briefly: wait for it rather than failing.
constexpr int kBusyTimeoutMs = 5000;

// One prepared statement, finalized on every path out.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw Error(ErrorCategory::Io, std::string("SQLite: ") + sqlite3_errmsg(db), sql);
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, const QString& text) {
    const QByteArray utf8 = text.toUtf8();
    sqlite3_bind_text(stmt_, i, utf8.constData(), utf8.size(), SQLITE_TRANSIENT);
  }
  void bind(int i, qint64 value) { sqlite3_bind_int64(stmt_, i, value); }
  void bind(int i, double value) { sqlite3_bind_double(stmt_, i, value); }
  // SQLITE_ROW: true; SQLITE_DONE: false; anything else throws.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(ErrorCategory::Io, std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  QString text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? QString::fromUtf8(p, sqlite3_column_bytes(stmt_, column)) : QString();
  }
  qint64 integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Rolls back unless committed, so an exception midway leaves the database as it was.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw Error(ErrorCategory::Io, "SQLite: " + text, sql);
    }
  }
  sqlite3* db_;
  bool done_ = false;
};

constexpr const char* kColumns =
    "id, clip, thumbnail, prompt, model, seed, created, storyboard_path, storyboard_json, "
    "duration_s, width, height";

GalleryEntry readEntry(const Statement& s) {
  GalleryEntry e;
  e.id = s.integer(0);
  e.clipPath = s.text(1);
  e.thumbnailPath = s.text(2);
  e.prompt = s.text(3);
  e.model = s.text(4);
  e.seed = static_cast<quint64>(s.integer(5));
  e.created = QDateTime::fromString(s.text(6), Qt::ISODateWithMs);
  e.storyboardPath = s.text(7);
  e.storyboardJson = s.text(8);
  e.durationSeconds = s.real(9);
  e.width = static_cast<int>(s.integer(10));
  e.height = static_cast<int>(s.integer(11));
  return e;
}

// LIKE with the user's text taken literally ('%' and '_' are not wildcards).
QString likePattern(const QString& word) {
  QString escaped = word;
  escaped.replace(QLatin1Char('\\'), QStringLiteral("\\\\"));
  escaped.replace(QLatin1Char('%'), QStringLiteral("\\%"));
  escaped.replace(QLatin1Char('_'), QStringLiteral("\\_"));
  return QLatin1Char('%') + escaped + QLatin1Char('%');
}

}  // namespace

QString GalleryIndex::defaultPath() {
  return QString::fromStdString((reelforge::user_data_dir() / "gallery.sqlite").string());
}

GalleryIndex::GalleryIndex(const QString& databasePath, QObject* parent)
    : QObject(parent), path_(databasePath) {
  const QFileInfo file(databasePath);
  if (!QDir().mkpath(file.absolutePath())) {
    throw Error(ErrorCategory::Io, "cannot create the folder", file.absolutePath().toStdString());
  }
  const int rc =
      sqlite3_open_v2(databasePath.toUtf8().constData(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCategory::Io, "cannot open the gallery database: " + message,
                databasePath.toStdString());
  }
  try {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // WAL: a crash mid-write leaves the main file intact and the log's committed frames replay
    // on the next open. FULL syncs the log at each commit, so a committed render is never lost.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

GalleryIndex::~GalleryIndex() {
  sqlite3_close(db_);
}

QString GalleryIndex::thumbnailFolder() const {
  return QFileInfo(path_).absoluteDir().filePath(QStringLiteral("thumbnails"));
}

void GalleryIndex::exec(const char* sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw Error(ErrorCategory::Io, "SQLite: " + text, path_.toStdString());
  }
}

void GalleryIndex::migrate() {
  const int version = schemaVersion();
  if (version > kSchemaVersion) {
    throw Error(ErrorCategory::Unsupported,
                "the gallery database has schema version " + std::to_string(version) +
                    "; this build reads up to " + std::to_string(kSchemaVersion),
                path_.toStdString());
  }
  if (version == kSchemaVersion) return;
  Transaction transaction(db_);
  if (version < 1) {
    exec(
        "CREATE TABLE IF NOT EXISTS renders ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " clip TEXT NOT NULL UNIQUE,"
        " thumbnail TEXT NOT NULL DEFAULT '',"
        " prompt TEXT NOT NULL DEFAULT '',"
        " model TEXT NOT NULL DEFAULT '',"
        " seed INTEGER NOT NULL DEFAULT 0,"
        " created TEXT NOT NULL,"
        " storyboard_path TEXT NOT NULL DEFAULT '',"
        " storyboard_json TEXT NOT NULL DEFAULT '',"
        " duration_s REAL NOT NULL DEFAULT 0,"
        " width INTEGER NOT NULL DEFAULT 0,"
        " height INTEGER NOT NULL DEFAULT 0)");
    exec("CREATE INDEX IF NOT EXISTS renders_created ON renders(created)");
  }
  // Future schema steps go here, each guarded by `version < N`.
  exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  transaction.commit();
}

qint64 GalleryIndex::insert(GalleryEntry entry, const QImage& thumbnail) {
  if (!entry.created.isValid()) entry.created = QDateTime::currentDateTimeUtc();
  qint64 id = 0;
  QString thumbnailFile;
  {
    Transaction transaction(db_);
    {
      Statement remove(db_, "DELETE FROM renders WHERE clip = ?1");
      remove.bind(1, entry.clipPath);
      remove.step();
    }
    Statement s(db_,
                "INSERT INTO renders (clip, prompt, model, seed, created, storyboard_path,"
                " storyboard_json, duration_s, width, height)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    s.bind(1, entry.clipPath);
    s.bind(2, entry.prompt);
    s.bind(3, entry.model);
    s.bind(4, static_cast<qint64>(entry.seed));
    s.bind(5, entry.created.toUTC().toString(Qt::ISODateWithMs));
    s.bind(6, entry.storyboardPath);
    s.bind(7, entry.storyboardJson);
    s.bind(8, entry.durationSeconds);
    s.bind(9, static_cast<qint64>(entry.width));
    s.bind(10, static_cast<qint64>(entry.height));
    s.step();
    id = sqlite3_last_insert_rowid(db_);
    // The thumbnail is complete on disk before the row naming it commits; a crash in between
    // leaves an unreferenced PNG, never a row pointing at half a file.
    if (!thumbnail.isNull()) {
      if (!QDir().mkpath(thumbnailFolder())) {
        throw Error(ErrorCategory::Io, "cannot create the folder", thumbnailFolder().toStdString());
      }
      thumbnailFile = QDir(thumbnailFolder()).filePath(QStringLiteral("%1.png").arg(id));
      QSaveFile file(thumbnailFile);
      if (!file.open(QIODevice::WriteOnly) || !thumbnail.save(&file, "PNG") || !file.commit()) {
        throw Error(ErrorCategory::Io,
                    "cannot write the thumbnail: " + file.errorString().toStdString(),
                    thumbnailFile.toStdString());
      }
      Statement update(db_, "UPDATE renders SET thumbnail = ?1 WHERE id = ?2");
      update.bind(1, thumbnailFile);
      update.bind(2, id);
      update.step();
    }
    try {
      transaction.commit();
    } catch (...) {
      if (!thumbnailFile.isEmpty()) QFile::remove(thumbnailFile);
      throw;
    }
  }
  emit changed();
  return id;
}

std::optional<GalleryEntry> GalleryIndex::entry(qint64 id) const {
  Statement s(db_, (std::string("SELECT ") + kColumns + " FROM renders WHERE id = ?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return readEntry(s);
}

QList<GalleryEntry> GalleryIndex::search(const QString& text, int limit) const {
  const QStringList words = text.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
  std::string sql = std::string("SELECT ") + kColumns + " FROM renders";
  for (int i = 0; i < words.size(); ++i) {
    sql += i == 0 ? " WHERE " : " AND ";
    const std::string p = "?" + std::to_string(i + 1);
    sql += "(prompt LIKE " + p + " ESCAPE '\\' OR model LIKE " + p + " ESCAPE '\\')";
  }
  sql += " ORDER BY created DESC, id DESC LIMIT " + std::to_string(qMax(0, limit));
  Statement s(db_, sql.c_str());
  for (int i = 0; i < words.size(); ++i) s.bind(i + 1, likePattern(words[i]));
  QList<GalleryEntry> entries;
  while (s.step()) entries << readEntry(s);
  return entries;
}

bool GalleryIndex::remove(qint64 id, RemoveFiles files) {
  const std::optional<GalleryEntry> e = entry(id);
  if (!e) return false;
  {
    Transaction transaction(db_);
    Statement s(db_, "DELETE FROM renders WHERE id = ?1");
    s.bind(1, id);
    s.step();
    transaction.commit();
  }
  // Files go after the row: a crash between leaves stray files, never a row without its clip.
  if (!e->thumbnailPath.isEmpty()) QFile::remove(e->thumbnailPath);
  if (files == RemoveFiles::AlsoClip && !e->clipPath.isEmpty()) {
    QFile::remove(e->clipPath);
    QFile::remove(QString::fromStdString(
        reelforge::safety::provenance_path(e->clipPath.toStdString()).string()));
  }
  emit changed();
  return true;
}

int GalleryIndex::count() const {
  Statement s(db_, "SELECT COUNT(*) FROM renders");
  s.step();
  return static_cast<int>(s.integer(0));
}

QString GalleryIndex::journalMode() const {
  Statement s(db_, "PRAGMA journal_mode");
  s.step();
  return s.text(0);
}

int GalleryIndex::schemaVersion() const {
  Statement s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}
