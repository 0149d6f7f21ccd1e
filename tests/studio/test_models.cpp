// The models dock over the core's registry, with tiny random-weight models written in the real
// layout: what each supports, the default, missing pieces, and importing a folder (validated by
// the core, copied off the UI thread).

#include <QApplication>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>
#include <filesystem>

#include "docks/models_dock.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "services/studio_settings.hpp"

namespace fs = std::filesystem;
namespace models = reelforge::models;

class TestModels : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void listsInstalledModelsWithWhatTheySupport();
  void choosesTheDefault();
  void showsMissingPieces();
  void importsAValidFolderAndRefusesABrokenOne();

 private:
  QTreeWidgetItem* itemFor(ModelsDock& dock, const QString& name) const;
  fs::path path(const std::string& name) const {
    return fs::path(dir_.path().toStdString()) / name;
  }

  QTemporaryDir dir_;
  std::unique_ptr<StudioSettings> settings_;
};

void TestModels::initTestCase() {
  QVERIFY(dir_.isValid());
  qputenv("REELFORGE_DATA", QByteArray::fromStdString(path("data").string()));
  qunsetenv("REELFORGE_MODELS");
  models::RandomModelSpec t2v = models::RandomModelSpec::tiny(models::WanModelType::T2V);
  t2v.name = "tiny-t2v";
  models::write_random_model(path("mine") / "tiny-t2v", t2v);
  models::RandomModelSpec ti2v = models::RandomModelSpec::tiny(models::WanModelType::TI2V);
  ti2v.name = "tiny-ti2v";
  models::write_random_model(path("mine") / "tiny-ti2v", ti2v);
  settings_ = std::make_unique<StudioSettings>(QString::fromStdString(path("studio.ini").string()));
  settings_->setModelFolders({QString::fromStdString(path("mine").string())});
}

QTreeWidgetItem* TestModels::itemFor(ModelsDock& dock, const QString& name) const {
  QTreeWidget* list = dock.modelList();
  for (int i = 0; i < list->topLevelItemCount(); ++i) {
    QTreeWidgetItem* item = list->topLevelItem(i);
    if (item->text(ModelsDock::NameColumn).contains(name)) return item;
  }
  return nullptr;
}

void TestModels::listsInstalledModelsWithWhatTheySupport() {
  ModelsDock dock(settings_.get());
  QTreeWidgetItem* t2v = itemFor(dock, "tiny-t2v");
  QTreeWidgetItem* ti2v = itemFor(dock, "tiny-ti2v");
  QVERIFY(t2v && ti2v);
  QCOMPARE(t2v->text(ModelsDock::TasksColumn), QStringLiteral("t2v, v2v"));
  QCOMPARE(ti2v->text(ModelsDock::TasksColumn), QStringLiteral("t2v, i2v, v2v"));
  QVERIFY2(t2v->text(ModelsDock::SizesColumn).contains(QStringLiteral("wide 80×48")),
           qPrintable(t2v->text(ModelsDock::SizesColumn)));
  QCOMPARE(t2v->text(ModelsDock::FramesColumn), QStringLiteral("17 @ 16"));
  QCOMPARE(t2v->text(ModelsDock::StatusColumn), QStringLiteral("ready"));
  // Selecting one shows the core's inspection of its components.
  dock.modelList()->setCurrentItem(t2v);
  QVERIFY2(dock.statusText().contains(QStringLiteral("dit:")), qPrintable(dock.statusText()));
  QVERIFY2(dock.statusText().contains(QStringLiteral("vae:")), qPrintable(dock.statusText()));
}

void TestModels::choosesTheDefault() {
  ModelsDock dock(settings_.get());
  QSignalSpy changed(&dock, &ModelsDock::defaultModelChanged);
  // Without a choice the core's default is marked: the first installed t2v model that is not
  // the built-in one.
  QVERIFY(settings_->defaultModel().isEmpty());
  QVERIFY(
      itemFor(dock, "tiny-t2v")->text(ModelsDock::NameColumn).contains(QStringLiteral("default")));
  dock.modelList()->setCurrentItem(itemFor(dock, "tiny-ti2v"));
  dock.makeSelectedDefault();
  QCOMPARE(changed.count(), 1);
  QCOMPARE(settings_->defaultModel(), QStringLiteral("tiny-ti2v"));
  QVERIFY(
      itemFor(dock, "tiny-ti2v")->text(ModelsDock::NameColumn).contains(QStringLiteral("default")));
  QVERIFY(
      !itemFor(dock, "tiny-t2v")->text(ModelsDock::NameColumn).contains(QStringLiteral("default")));
}

void TestModels::showsMissingPieces() {
  models::RandomModelSpec spec = models::RandomModelSpec::tiny();
  spec.name = "tiny-broken";
  models::write_random_model(path("mine") / "tiny-broken", spec);
  fs::remove(path("mine") / "tiny-broken" / models::kTokenizerFile);
  ModelsDock dock(settings_.get());
  QTreeWidgetItem* broken = itemFor(dock, "tiny-broken");
  QVERIFY(broken);
  QVERIFY2(
      broken->text(ModelsDock::StatusColumn).contains(QString::fromLatin1(models::kTokenizerFile)),
      qPrintable(broken->text(ModelsDock::StatusColumn)));
  dock.modelList()->setCurrentItem(broken);
  QVERIFY2(dock.statusText().contains(QStringLiteral("missing")), qPrintable(dock.statusText()));
  fs::remove_all(path("mine") / "tiny-broken");
}

void TestModels::importsAValidFolderAndRefusesABrokenOne() {
  models::RandomModelSpec spec = models::RandomModelSpec::tiny();
  spec.name = "tiny-import";
  models::write_random_model(path("downloads") / "tiny-import", spec);
  ModelsDock dock(settings_.get());
  QVERIFY(!itemFor(dock, "tiny-import"));
  QSignalSpy finished(&dock, &ModelsDock::importFinished);
  QVERIFY(dock.importFolder(QString::fromStdString((path("downloads") / "tiny-import").string())));
  QVERIFY(dock.isImporting());
  QVERIFY(!dock.importFolder(QStringLiteral("/elsewhere")));  // one at a time
  QVERIFY(finished.wait(60000));
  QCOMPARE(finished.first().at(0).toString(), QStringLiteral("tiny-import"));
  QVERIFY2(finished.first().at(1).toString().isEmpty(),
           qPrintable(finished.first().at(1).toString()));
  QVERIFY(!dock.isImporting());
  QVERIFY(fs::exists(models::user_models_dir() / "tiny-import" / "model.json"));
  QVERIFY(itemFor(dock, "tiny-import"));  // listed at once

  spec.name = "tiny-incomplete";
  models::write_random_model(path("downloads") / "tiny-incomplete", spec);
  fs::remove(path("downloads") / "tiny-incomplete" / models::kDiTWeightsFile);
  finished.clear();
  QVERIFY(
      dock.importFolder(QString::fromStdString((path("downloads") / "tiny-incomplete").string())));
  QVERIFY(finished.wait(60000));
  const QString error = finished.first().at(1).toString();
  QVERIFY2(error.contains(QString::fromLatin1(models::kDiTWeightsFile)), qPrintable(error));
  QVERIFY(dock.statusText().startsWith(QStringLiteral("Import failed")));
  QVERIFY(!fs::exists(models::user_models_dir() / "tiny-incomplete"));
  QVERIFY(!itemFor(dock, "tiny-incomplete"));
}

QTEST_MAIN(TestModels)
#include "test_models.moc"
