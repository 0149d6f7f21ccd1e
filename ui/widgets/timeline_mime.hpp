#pragma once
// The drag-and-drop and clipboard formats of the timeline. Shots travel as a storyboard document
// in the core's own JSON (storyboard::to_json_text), with media paths made absolute so they still
// point at the same files when pasted into a document in another folder, plus the ids of the
// dragged shots and which document they came from (a drag inside one timeline is a move).

#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

#include "reelforge/storyboard/storyboard.hpp"

class QMimeData;
class StoryboardDocument;

namespace timeline_mime {

inline constexpr const char* kShots = "application/x-reelforge-shots";
// Defined by the gallery (GalleryDock::kMimeType): {"storyboard": path or null, "clip": path,
// "prompt": text}.
inline constexpr const char* kGalleryItem = "application/x-reelforge-gallery-item";

// A token naming `document` for the lifetime of this process.
QString documentToken(const StoryboardDocument* document);

// kShots (and text/plain with the same JSON) for the shots `ids`, in document order.
QMimeData* encodeShots(const StoryboardDocument& document, const QStringList& ids);

struct Shots {
  QString documentToken;
  QStringList ids;
  std::vector<reelforge::storyboard::Shot> shots;
};
// nullopt when `mime` holds no readable kShots payload.
std::optional<Shots> decodeShots(const QMimeData* mime);

struct GalleryItem {
  QString storyboardPath;
  QString clipPath;
  QString prompt;
};
std::optional<GalleryItem> decodeGalleryItem(const QMimeData* mime);

enum class MediaKind { None, Image, Video };
// By content type (QMimeDatabase: name and magic bytes).
MediaKind mediaKindOf(const QString& path);
// The local image and video files among the URLs of `mime`.
QStringList mediaFiles(const QMimeData* mime);

}  // namespace timeline_mime
