#include "gmd/gui/modality_bar_model.hpp"

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/qtext.hpp"

namespace gmd::gui {
namespace {
QString human_bytes(qint64 b) {
  if (b >= 1024 * 1024) return QString("%1 MB").arg(b / (1024.0 * 1024.0), 0, 'f', 1);
  if (b >= 1024) return QString("%1 kB").arg(b / 1024.0, 0, 'f', 0);
  return QString("%1 bytes").arg(b);
}
}  // namespace

QString SlotInfo::tooltip() const {
  if (!present) return QString("not present");
  return QString("%1\n%2 on disk\n%3 x %4 x %5 voxels\nspacing %6 x %7 x %8 mm")
      .arg(file_name, human_bytes(bytes))
      .arg(size[0]).arg(size[1]).arg(size[2])
      .arg(spacing[0], 0, 'g', 4).arg(spacing[1], 0, 'g', 4).arg(spacing[2], 0, 'g', 4);
}

ModalityBarModel::ModalityBarModel(CaseController* controller) : QAbstractListModel(controller), c_(controller) {}

int ModalityBarModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kNumModalities; }

QVariant ModalityBarModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= kNumModalities) return {};
  const int m = index.row();
  const SlotInfo& s = c_->slot(m);
  switch (role) {
    case Qt::DisplayRole: return q(std::string(modality_display(m)));
    case Qt::ToolTipRole: return s.tooltip();
    case Qt::CheckStateRole: return subset_has(c_->selected(), m) ? Qt::Checked : Qt::Unchecked;
    case PresentRole: return s.present;
    case SelectedRole: return subset_has(c_->selected(), m);
    case DisplayedRole: return c_->displayed() == m;
    case FileNameRole: return s.file_name;
    case PathRole: return s.path;
    case SizeTextRole:
      if (!s.present) return QString();
      return QString("%1 x %2 x %3, %4 x %5 x %6 mm")
          .arg(s.size[0]).arg(s.size[1]).arg(s.size[2])
          .arg(s.spacing[0], 0, 'g', 3).arg(s.spacing[1], 0, 'g', 3).arg(s.spacing[2], 0, 'g', 3);
    default: return {};
  }
}

bool ModalityBarModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.row() < 0 || index.row() >= kNumModalities) return false;
  const int m = index.row();
  if (role == Qt::CheckStateRole || role == SelectedRole) {
    if (!c_->slot(m).present) return false;
    const bool on = role == SelectedRole ? value.toBool() : value.toInt() == Qt::Checked;
    c_->setModalitySelected(m, on);
    return true;
  }
  if (role == DisplayedRole && value.toBool()) {
    if (!c_->slot(m).present) return false;
    c_->setDisplayed(m);
    return true;
  }
  return false;
}

Qt::ItemFlags ModalityBarModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsSelectable;
  if (c_->slot(index.row()).present) f |= Qt::ItemIsEnabled | Qt::ItemIsUserCheckable;
  return f;
}

QHash<int, QByteArray> ModalityBarModel::roleNames() const {
  auto r = QAbstractListModel::roleNames();
  r[PresentRole] = "present";
  r[SelectedRole] = "selected";
  r[DisplayedRole] = "displayed";
  r[FileNameRole] = "fileName";
  r[PathRole] = "path";
  r[SizeTextRole] = "sizeText";
  return r;
}

void ModalityBarModel::refresh() {
  Q_EMIT dataChanged(index(0), index(kNumModalities - 1));
}

}  // namespace gmd::gui
