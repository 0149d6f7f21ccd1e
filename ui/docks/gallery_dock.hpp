#pragma once
// The gallery: a Featured page of example storyboards shipped in assets/featured/ (each a
// storyboard JSON with a PNG thumbnail of the same name), which open as new projects, and a Recent
// page of the user's own renders from the GalleryIndex, with search, open, remix, reveal in
// folder and delete. Items drag out with kMimeType (JSON: {"storyboard": path or null, "clip":
// path, "prompt": text}) so the timeline can take them.

#include <QDockWidget>
#include <QString>

class GalleryIndex;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QMimeData;
class QTabWidget;
class RenderQueue;
struct GalleryEntry;

class GalleryDock : public QDockWidget {
  Q_OBJECT

 public:
  static constexpr const char* kMimeType = "application/x-reelforge-gallery-item";
  // resource_root()/assets/featured
  static QString defaultFeaturedFolder();

  explicit GalleryDock(GalleryIndex* index, QWidget* parent = nullptr);

  void setFeaturedFolder(const QString& folder);
  QString featuredFolder() const { return featuredFolder_; }
  // Adds every render `queue` finishes to the index (with its thumbnail), then shows it.
  void watchQueue(RenderQueue* queue);

  // The drag payload of a Recent entry / a Featured storyboard.
  static QMimeData* mimeDataFor(const GalleryEntry& entry);
  static QMimeData* mimeDataForFeatured(const QString& storyboardPath, const QString& prompt);

  QListWidget* featuredList() const { return featured_; }
  QListWidget* recentList() const { return recent_; }
  QLineEdit* searchBox() const { return search_; }

 public slots:
  void refreshFeatured();
  void refreshRecent();
  // Actions on the selected Recent item.
  void openSelected();
  void remixSelected();
  void revealSelected();
  void deleteSelected();

 signals:
  // A Featured storyboard to open as a new, unsaved project.
  void newProjectRequested(const QString& storyboardPath);
  // A render's storyboard to load into the editor (the JSON as rendered; `storyboardPath` is the
  // document it came from, possibly empty, and is where relative media paths start).
  void remixRequested(const QString& storyboardJson, const QString& storyboardPath);
  // A clip to play in the preview player.
  void playRequested(const QString& clipPath);
  // A problem to show (non-blocking).
  void errorOccurred(const QString& message);

 private:
  qint64 selectedId() const;
  void showContextMenu(const QPoint& pos);

  GalleryIndex* index_ = nullptr;
  QString featuredFolder_;
  QTabWidget* tabs_ = nullptr;
  QListWidget* featured_ = nullptr;
  QListWidget* recent_ = nullptr;
  QLineEdit* search_ = nullptr;
};
