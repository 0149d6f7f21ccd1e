#include "docks/gallery_dock.hpp"

#include <QAction>
#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPushButton>
#include <QTabWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <functional>

#include "models/gallery_index.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"
#include "services/display_text.hpp"
#include "services/render_queue.hpp"

namespace {

constexpr int kIdRole = Qt::UserRole + 1;
constexpr int kPathRole = Qt::UserRole + 2;  // Featured: the storyboard file
constexpr int kPromptRole = Qt::UserRole + 3;
constexpr QSize kIconSize(160, 90);

// A list whose drags carry the gallery's MIME type instead of Qt's item serialisation.
class GalleryList : public QListWidget {
 public:
  GalleryList(std::function<QMimeData*(QListWidgetItem*)> mime, QWidget* parent)
      : QListWidget(parent), mime_(std::move(mime)) {
    setViewMode(QListView::IconMode);
    setIconSize(kIconSize);
    setGridSize(QSize(kIconSize.width() + 24, kIconSize.height() + 48));
    setResizeMode(QListView::Adjust);
    setMovement(QListView::Static);
    setWordWrap(true);
    setUniformItemSizes(true);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setDragEnabled(true);
    setDragDropMode(QAbstractItemView::DragOnly);
  }

 protected:
  QStringList mimeTypes() const override { return {QString::fromLatin1(GalleryDock::kMimeType)}; }
  QMimeData* mimeData(const QList<QListWidgetItem*>& items) const override {
    return items.isEmpty() ? nullptr : mime_(items.first());
  }

 private:
  std::function<QMimeData*(QListWidgetItem*)> mime_;
};

QIcon iconFrom(const QString& png) {
  QPixmap pixmap;
  if (!png.isEmpty() && pixmap.load(png)) {
    return QIcon(pixmap.scaled(kIconSize, Qt::KeepAspectRatio, Qt::SmoothTransformation));
  }
  QPixmap blank(kIconSize);
  blank.fill(Qt::darkGray);
  return QIcon(blank);
}

QMimeData* makeMime(const QJsonValue& storyboard, const QString& clip, const QString& prompt) {
  QJsonObject payload;
  payload.insert(QStringLiteral("storyboard"), storyboard);
  payload.insert(QStringLiteral("clip"), clip.isEmpty() ? QJsonValue() : QJsonValue(clip));
  payload.insert(QStringLiteral("prompt"), prompt);
  auto* mime = new QMimeData;
  mime->setData(QString::fromLatin1(GalleryDock::kMimeType),
                QJsonDocument(payload).toJson(QJsonDocument::Compact));
  if (!clip.isEmpty()) mime->setUrls({QUrl::fromLocalFile(clip)});  // for file managers
  return mime;
}

}  // namespace

QString GalleryDock::defaultFeaturedFolder() {
  return QString::fromStdString((reelforge::resource_root() / "assets" / "featured").string());
}

GalleryDock::GalleryDock(GalleryIndex* index, QWidget* parent)
    : QDockWidget(tr("Gallery"), parent), index_(index) {
  setObjectName(QStringLiteral("galleryDock"));
  tabs_ = new QTabWidget(this);

  featured_ = new GalleryList(
      [](QListWidgetItem* item) {
        return mimeDataForFeatured(item->data(kPathRole).toString(),
                                   item->data(kPromptRole).toString());
      },
      tabs_);
  featured_->setAccessibleName(tr("Featured storyboards"));
  connect(featured_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    emit newProjectRequested(item->data(kPathRole).toString());
  });
  tabs_->addTab(featured_, tr("Featured"));

  auto* recentPage = new QWidget(tabs_);
  search_ = new QLineEdit(recentPage);
  search_->setPlaceholderText(tr("Search prompts and models"));
  search_->setClearButtonEnabled(true);
  GalleryIndex* idx = index_;
  recent_ = new GalleryList(
      [idx](QListWidgetItem* item) -> QMimeData* {
        const std::optional<GalleryEntry> e = idx->entry(item->data(kIdRole).toLongLong());
        return e ? mimeDataFor(*e) : nullptr;
      },
      recentPage);
  recent_->setAccessibleName(tr("Recent renders"));
  recent_->setContextMenuPolicy(Qt::CustomContextMenu);
  auto* open = new QPushButton(tr("Open"), recentPage);
  auto* remix = new QPushButton(tr("Remix"), recentPage);
  auto* reveal = new QPushButton(tr("Reveal"), recentPage);
  auto* remove = new QPushButton(tr("Delete"), recentPage);
  open->setToolTip(tr("Play the clip"));
  remix->setToolTip(tr("Load the storyboard it was rendered from"));
  reveal->setToolTip(tr("Show the clip's folder"));
  remove->setToolTip(tr("Remove from the gallery (the clip stays on disk)"));
  auto* buttons = new QHBoxLayout;
  for (QPushButton* b : {open, remix, reveal, remove}) buttons->addWidget(b);
  auto* recentLayout = new QVBoxLayout(recentPage);
  recentLayout->setContentsMargins(0, 0, 0, 0);
  recentLayout->addWidget(search_);
  recentLayout->addWidget(recent_, 1);
  recentLayout->addLayout(buttons);
  tabs_->addTab(recentPage, tr("Recent"));
  setWidget(tabs_);

  connect(search_, &QLineEdit::textChanged, this, &GalleryDock::refreshRecent);
  connect(recent_, &QListWidget::itemActivated, this, &GalleryDock::openSelected);
  connect(recent_, &QWidget::customContextMenuRequested, this, &GalleryDock::showContextMenu);
  connect(open, &QPushButton::clicked, this, &GalleryDock::openSelected);
  connect(remix, &QPushButton::clicked, this, &GalleryDock::remixSelected);
  connect(reveal, &QPushButton::clicked, this, &GalleryDock::revealSelected);
  connect(remove, &QPushButton::clicked, this, &GalleryDock::deleteSelected);
  if (index_) connect(index_, &GalleryIndex::changed, this, &GalleryDock::refreshRecent);

  featuredFolder_ = defaultFeaturedFolder();
  refreshFeatured();
  refreshRecent();
}

void GalleryDock::setFeaturedFolder(const QString& folder) {
  featuredFolder_ = folder;
  refreshFeatured();
}

void GalleryDock::watchQueue(RenderQueue* queue) {
  connect(queue, &RenderQueue::jobFinished, this, [this, queue](int id, RenderJobState state) {
    if (state != RenderJobState::Done || !index_) return;
    const std::optional<RenderJobInfo> job = queue->job(id);
    if (!job) return;
    GalleryEntry entry;
    entry.clipPath = job->outcome.output;
    entry.prompt = job->prompts.join(QLatin1Char('\n'));
    entry.model = job->outcome.model;
    entry.seed = job->outcome.seed;
    entry.created = job->outcome.finishedAt;
    entry.storyboardPath = job->storyboardPath;
    entry.storyboardJson = job->storyboardJson;
    entry.durationSeconds = job->outcome.durationSeconds;
    entry.width = job->outcome.width;
    entry.height = job->outcome.height;
    try {
      index_->insert(entry, job->outcome.thumbnail);
    } catch (const reelforge::Error& e) {
      emit errorOccurred(tr("The render was not added to the gallery: %1").arg(errorText(e)));
    }
  });
}

QMimeData* GalleryDock::mimeDataFor(const GalleryEntry& entry) {
  return makeMime(entry.storyboardPath.isEmpty() ? QJsonValue() : QJsonValue(entry.storyboardPath),
                  entry.clipPath, entry.prompt);
}

QMimeData* GalleryDock::mimeDataForFeatured(const QString& storyboardPath, const QString& prompt) {
  return makeMime(storyboardPath, {}, prompt);
}

void GalleryDock::refreshFeatured() {
  featured_->clear();
  const QDir dir(featuredFolder_);
  for (const QFileInfo& file :
       dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name)) {
    // Only the title and prompts, for the card: opening goes through the core's loader.
    QFile f(file.filePath());
    if (!f.open(QIODevice::ReadOnly)) continue;
    const QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
    QString title = doc.value(QStringLiteral("title")).toString();
    if (title.isEmpty()) title = file.completeBaseName();
    QStringList prompts;
    for (const QJsonValue& shot : doc.value(QStringLiteral("shots")).toArray()) {
      prompts << shot.toObject().value(QStringLiteral("prompt")).toString();
    }
    auto* item = new QListWidgetItem(
        iconFrom(dir.filePath(file.completeBaseName() + QStringLiteral(".png"))), title, featured_);
    item->setData(kPathRole, file.absoluteFilePath());
    item->setData(kPromptRole, prompts.join(QLatin1Char('\n')));
    item->setToolTip(tr("%1\n\n%2\n\nDouble-click to start a new project from it.")
                         .arg(title, prompts.join(QLatin1Char('\n'))));
  }
}

void GalleryDock::refreshRecent() {
  if (!index_) return;
  const qint64 selected = selectedId();
  recent_->clear();
  QList<GalleryEntry> entries;
  try {
    entries = index_->search(search_->text());
  } catch (const reelforge::Error& e) {
    emit errorOccurred(tr("The gallery cannot be read: %1").arg(errorText(e)));
    return;
  }
  for (const GalleryEntry& e : entries) {
    const QString first = e.prompt.section(QLatin1Char('\n'), 0, 0);
    auto* item = new QListWidgetItem(iconFrom(e.thumbnailPath), first, recent_);
    item->setData(kIdRole, e.id);
    item->setData(kPromptRole, e.prompt);
    item->setToolTip(tr("%1\n\nModel: %2 · seed %3\n%4 · %5 s\n%6")
                         .arg(e.prompt, e.model)
                         .arg(e.seed)
                         .arg(QLocale().toString(e.created.toLocalTime(), QLocale::ShortFormat))
                         .arg(e.durationSeconds, 0, 'f', 1)
                         .arg(e.clipPath));
    if (!QFileInfo::exists(e.clipPath)) item->setForeground(Qt::gray);  // moved or deleted
    if (e.id == selected) item->setSelected(true);
  }
}

qint64 GalleryDock::selectedId() const {
  const QList<QListWidgetItem*> items = recent_->selectedItems();
  return items.isEmpty() ? 0 : items.first()->data(kIdRole).toLongLong();
}

void GalleryDock::openSelected() {
  const std::optional<GalleryEntry> e = index_ ? index_->entry(selectedId()) : std::nullopt;
  if (!e) return;
  if (!QFileInfo::exists(e->clipPath)) {
    emit errorOccurred(tr("The clip is no longer at %1").arg(e->clipPath));
    return;
  }
  emit playRequested(e->clipPath);
}

void GalleryDock::remixSelected() {
  const std::optional<GalleryEntry> e = index_ ? index_->entry(selectedId()) : std::nullopt;
  if (!e) return;
  if (e->storyboardJson.isEmpty() && !QFileInfo::exists(e->storyboardPath)) {
    emit errorOccurred(tr("This render has no storyboard to remix"));
    return;
  }
  emit remixRequested(e->storyboardJson, e->storyboardPath);
}

void GalleryDock::revealSelected() {
  const std::optional<GalleryEntry> e = index_ ? index_->entry(selectedId()) : std::nullopt;
  if (!e) return;
  const QString folder = QFileInfo(e->clipPath).absolutePath();
  if (!QDesktopServices::openUrl(QUrl::fromLocalFile(folder))) {
    emit errorOccurred(tr("Cannot open the folder %1").arg(folder));
  }
}

void GalleryDock::deleteSelected() {
  const qint64 id = selectedId();
  if (id == 0 || !index_) return;
  try {
    index_->remove(id, RemoveFiles::IndexOnly);
  } catch (const reelforge::Error& e) {
    emit errorOccurred(errorText(e));
  }
}

void GalleryDock::showContextMenu(const QPoint& pos) {
  QListWidgetItem* item = recent_->itemAt(pos);
  if (!item) return;
  item->setSelected(true);
  QMenu menu(this);
  menu.addAction(tr("Open"), this, &GalleryDock::openSelected);
  menu.addAction(tr("Remix"), this, &GalleryDock::remixSelected);
  menu.addAction(tr("Reveal in folder"), this, &GalleryDock::revealSelected);
  menu.addSeparator();
  menu.addAction(tr("Remove from gallery"), this, &GalleryDock::deleteSelected);
  const qint64 id = item->data(kIdRole).toLongLong();
  menu.addAction(tr("Delete clip from disk"), this, [this, id] {
    try {
      index_->remove(id, RemoveFiles::AlsoClip);
    } catch (const reelforge::Error& e) {
      emit errorOccurred(errorText(e));
    }
  });
  menu.exec(recent_->viewport()->mapToGlobal(pos));
}
