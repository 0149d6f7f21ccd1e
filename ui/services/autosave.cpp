#include "services/autosave.hpp"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>
#include <QUndoStack>
#include <algorithm>

#include "models/storyboard_document.hpp"
#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/storyboard/io.hpp"

namespace {

constexpr const char* kSuffix = ".autosave.json";

QString keyFor(const QString& filePath) {
  if (filePath.isEmpty()) {
    // One untitled document per process at a time; the time keeps restarts apart.
    return QStringLiteral("untitled-%1-%2")
        .arg(QCoreApplication::applicationPid())
        .arg(QDateTime::currentMSecsSinceEpoch());
  }
  const QByteArray hash =
      QCryptographicHash::hash(filePath.toUtf8(), QCryptographicHash::Sha1).toHex().left(16);
  return QFileInfo(filePath).completeBaseName().left(40) + '-' + QString::fromLatin1(hash);
}

}  // namespace

QString Autosave::defaultFolder() {
  return QString::fromStdString((reelforge::user_data_dir() / "autosave").string());
}

Autosave::Autosave(StoryboardDocument* document, const QString& folder, QObject* parent)
    : QObject(parent), document_(document), folder_(folder), timer_(new QTimer(this)) {
  key_ = keyFor(document_->filePath());
  timer_->setInterval(kDefaultIntervalSeconds * 1000);
  connect(timer_, &QTimer::timeout, this, &Autosave::saveNow);
  timer_->start();
  connect(document_, &StoryboardDocument::filePathChanged, this, &Autosave::documentPathChanged);
  connect(document_, &StoryboardDocument::saved, this, &Autosave::discard);
  // A new or opened document starts clean: the previous document's copy has no use any more
  // (its edits were saved or knowingly dropped before it was replaced).
  connect(document_, &StoryboardDocument::documentReset, this, [this] {
    discard();
    key_ = keyFor(document_->filePath());
    ++changes_;
  });
  connect(document_->undoStack(), &QUndoStack::indexChanged, this, [this] { ++changes_; });
}

Autosave::~Autosave() = default;

int Autosave::intervalSeconds() const {
  return timer_->interval() / 1000;
}

void Autosave::setIntervalSeconds(int seconds) {
  timer_->setInterval(std::max(1, seconds) * 1000);
}

QString Autosave::copyPath() const {
  return QDir(folder_).filePath(key_ + kSuffix);
}

bool Autosave::saveNow() {
  if (!document_->isDirty()) return false;
  if (written_ && changes_ == writtenChanges_ && QFileInfo::exists(copyPath())) return false;
  try {
    QDir().mkpath(folder_);
    QJsonObject copy;
    copy["file"] = document_->filePath();
    copy["saved"] = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
    copy["storyboard"] =
        QString::fromStdString(reelforge::storyboard::to_json_text(document_->storyboard()));
    const QByteArray bytes = QJsonDocument(copy).toJson();
    reelforge::write_file_atomic(copyPath().toStdString(),
                                 std::string_view(bytes.constData(), bytes.size()));
  } catch (const reelforge::Error& error) {
    emit failed(tr("Autosave failed: %1").arg(QString::fromStdString(error.message())));
    return false;
  }
  written_ = true;
  writtenChanges_ = changes_;
  emit autosaved(copyPath());
  return true;
}

void Autosave::discard() {
  QFile::remove(copyPath());
  written_ = false;
}

void Autosave::documentPathChanged() {
  // Save As moves the document: its copy follows under the new key.
  const QString old = copyPath();
  key_ = keyFor(document_->filePath());
  if (old != copyPath()) QFile::remove(old);
  written_ = false;
}

QList<AutosaveCopy> Autosave::recoverable(const QString& folder) {
  QList<AutosaveCopy> copies;
  const QDir dir(folder);
  for (const QFileInfo& info :
       dir.entryInfoList({QStringLiteral("*") + kSuffix}, QDir::Files, QDir::Time)) {
    QFile file(info.absoluteFilePath());
    if (!file.open(QIODevice::ReadOnly)) continue;
    const QJsonObject object = QJsonDocument::fromJson(file.readAll()).object();
    AutosaveCopy copy;
    copy.copyPath = info.absoluteFilePath();
    copy.filePath = object["file"].toString();
    copy.saved = QDateTime::fromString(object["saved"].toString(), Qt::ISODateWithMs);
    copy.storyboardJson = object["storyboard"].toString().toStdString();
    if (copy.storyboardJson.empty() || !copy.saved.isValid()) continue;
    if (!copy.filePath.isEmpty()) {
      const QFileInfo original(copy.filePath);
      if (original.exists() && original.lastModified().toUTC() >= copy.saved) continue;
    }
    copies << copy;
  }
  std::sort(copies.begin(), copies.end(),
            [](const AutosaveCopy& a, const AutosaveCopy& b) { return a.saved > b.saved; });
  return copies;
}

void Autosave::remove(const AutosaveCopy& copy) {
  QFile::remove(copy.copyPath);
}
