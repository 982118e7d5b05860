#include "gmd/gui/recent_cases.hpp"

#include <QFileInfo>

namespace gmd::gui {

RecentCases::RecentCases(QSettings* settings, int capacity) : settings_(settings), capacity_(capacity) {}

QStringList RecentCases::list() const {
  QStringList out;
  for (const QString& f : settings_->value("recent/cases").toStringList())
    if (QFileInfo(f).exists()) out << f;
  return out;
}

void RecentCases::add(const QString& folder) {
  const QString abs = QFileInfo(folder).absoluteFilePath();
  QStringList l = settings_->value("recent/cases").toStringList();
  l.removeAll(abs);
  l.prepend(abs);
  while (l.size() > capacity_) l.removeLast();
  settings_->setValue("recent/cases", l);
}

void RecentCases::remove(const QString& folder) {
  QStringList l = settings_->value("recent/cases").toStringList();
  l.removeAll(QFileInfo(folder).absoluteFilePath());
  settings_->setValue("recent/cases", l);
}

void RecentCases::clear() { settings_->remove("recent/cases"); }

}  // namespace gmd::gui
