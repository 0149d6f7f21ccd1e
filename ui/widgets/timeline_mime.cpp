#include "widgets/timeline_mime.hpp"

#include <QCoreApplication>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMimeData>
#include <QMimeDatabase>
#include <QUrl>

#include "models/storyboard_document.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"

namespace sb = reelforge::storyboard;

namespace timeline_mime {

QString documentToken(const StoryboardDocument* document) {
  return QStringLiteral("%1:%2")
      .arg(QCoreApplication::applicationPid())
      .arg(reinterpret_cast<quintptr>(document));
}

QMimeData* encodeShots(const StoryboardDocument& document, const QStringList& ids) {
  sb::Storyboard carrier;
  carrier.project = document.storyboard().project;
  QJsonArray idArray;
  for (const sb::Shot& shot : document.storyboard().shots) {
    if (!ids.contains(QString::fromStdString(shot.id))) continue;
    sb::Shot copy = shot;
    if (copy.keyframe) copy.keyframe->path = document.resolveMedia(copy.keyframe->path).string();
    if (copy.source_video) {
      copy.source_video->path = document.resolveMedia(copy.source_video->path).string();
    }
    carrier.shots.push_back(copy);
    idArray.append(QString::fromStdString(shot.id));
  }
  QJsonObject payload;
  payload["document"] = documentToken(&document);
  payload["ids"] = idArray;
  payload["storyboard"] = QString::fromStdString(sb::to_json_text(carrier));
  const QByteArray json = QJsonDocument(payload).toJson(QJsonDocument::Compact);
  auto* mime = new QMimeData;
  mime->setData(kShots, json);
  mime->setText(QString::fromStdString(sb::to_json_text(carrier)));
  return mime;
}

std::optional<Shots> decodeShots(const QMimeData* mime) {
  if (!mime || !mime->hasFormat(kShots)) return std::nullopt;
  const QJsonObject payload = QJsonDocument::fromJson(mime->data(kShots)).object();
  Shots shots;
  shots.documentToken = payload["document"].toString();
  for (const QJsonValue& id : payload["ids"].toArray()) shots.ids << id.toString();
  try {
    sb::LoadOptions options;
    options.validation.media = sb::MediaChecks::None;
    // Paths are absolute (encodeShots), so the base folder does not matter.
    shots.shots = sb::check_text(payload["storyboard"].toString().toStdString(), "/", options)
                      .storyboard.shots;
  } catch (const reelforge::Error&) {
    return std::nullopt;
  }
  if (shots.shots.empty()) return std::nullopt;
  return shots;
}

std::optional<GalleryItem> decodeGalleryItem(const QMimeData* mime) {
  if (!mime || !mime->hasFormat(kGalleryItem)) return std::nullopt;
  const QJsonObject payload = QJsonDocument::fromJson(mime->data(kGalleryItem)).object();
  GalleryItem item;
  item.storyboardPath = payload["storyboard"].toString();
  item.clipPath = payload["clip"].toString();
  item.prompt = payload["prompt"].toString();
  if (item.storyboardPath.isEmpty() && item.clipPath.isEmpty()) return std::nullopt;
  return item;
}

MediaKind mediaKindOf(const QString& path) {
  const QFileInfo info(path);
  if (!info.isFile()) return MediaKind::None;
  const QString name = QMimeDatabase().mimeTypeForFile(info).name();
  if (name.startsWith(QLatin1String("image/"))) return MediaKind::Image;
  if (name.startsWith(QLatin1String("video/"))) return MediaKind::Video;
  return MediaKind::None;
}

QStringList mediaFiles(const QMimeData* mime) {
  QStringList files;
  if (!mime || !mime->hasUrls()) return files;
  for (const QUrl& url : mime->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (mediaKindOf(path) != MediaKind::None) files << QFileInfo(path).absoluteFilePath();
  }
  return files;
}

}  // namespace timeline_mime
