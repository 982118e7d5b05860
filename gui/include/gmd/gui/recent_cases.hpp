#pragma once
// The studio's list of recently opened case folders.
#include <QSettings>
#include <QString>
#include <QStringList>

namespace gmd::gui {

// Recently opened cases (most recent first, at most `capacity`), kept in QSettings.
class RecentCases {
 public:
  explicit RecentCases(QSettings* settings, int capacity = 8);
  QStringList list() const;  // existing folders only
  void add(const QString& folder);
  void remove(const QString& folder);
  void clear();

 private:
  QSettings* settings_;
  int capacity_;
};

}  // namespace gmd::gui
