#include "services/display_text.hpp"

#include <QStringList>

#include "reelforge/core/error.hpp"
#include "reelforge/models/manifest.hpp"

QString errorText(const reelforge::Error& error) {
  const QString message = QString::fromStdString(error.message());
  return error.context().empty()
             ? message
             : QStringLiteral("%1: %2").arg(QString::fromStdString(error.context()), message);
}

QString modelSizesText(const reelforge::models::ModelManifest& manifest) {
  QStringList sizes;
  for (const auto& [aspect, size] : manifest.native_sizes) {
    sizes << QStringLiteral("%1 %2×%3")
                 .arg(QString::fromStdString(aspect))
                 .arg(size.width_px)
                 .arg(size.height_px);
  }
  return sizes.join(QStringLiteral(", "));
}
