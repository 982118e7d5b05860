#include "gmd/gui/case_files.hpp"

#include <QFileInfo>
#include <algorithm>
#include <string>

#include "gmd/gui/qtext.hpp"

namespace gmd::gui {

QString nifti_stem(const QString& name) {
  const QString l = name.toLower();
  if (l.endsWith(".nii.gz")) return name.left(name.size() - 7);
  if (l.endsWith(".nii")) return name.left(name.size() - 4);
  return {};
}

int classify_file_name(const QString& file_name) {
  const QString name = QFileInfo(file_name).fileName();
  if (name.isEmpty() || name.startsWith('.')) return -1;
  const QString stem = nifti_stem(name);
  if (stem.isEmpty()) return -1;
  const qsizetype sep = std::max(stem.lastIndexOf('_'), stem.lastIndexOf('-'));
  const QString suffix = (sep < 0 ? stem : stem.mid(sep + 1)).toLower();
  if (suffix == "seg") return kSegSlot;
  if (suffix == "t2f") return 0;
  if (suffix == "t1n") return 1;
  if (suffix == "t2w") return 3;
  if (auto m = parse_modality(suffix.toStdString())) return *m;
  return -1;
}

FileSorting sort_files(const QStringList& paths) {
  FileSorting s;
  for (const QString& p : paths) {
    const QString name = QFileInfo(p).fileName();
    if (nifti_stem(name).isEmpty()) {
      s.ignored << p;
      continue;
    }
    const int k = classify_file_name(name);
    if (k < 0) {
      s.unknown << p;
      continue;
    }
    QString& slot = k == kSegSlot ? s.seg : s.modality[static_cast<size_t>(k)];
    if (!slot.isEmpty()) {
      s.conflicts << QString("%1 and %2 both look like %3")
                         .arg(QFileInfo(slot).fileName(), name,
                              k == kSegSlot ? QString("the segmentation") : q(std::string(modality_display(k))));
      continue;
    }
    slot = p;
  }
  return s;
}

}  // namespace gmd::gui
