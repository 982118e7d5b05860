#pragma once
// What the modality bar shows: one SlotInfo per modality slot, and the Qt list model over the four slots that the
// ModalityBar widget binds to (it reads and ticks through CaseController).
#include <QAbstractListModel>
#include <QString>
#include <array>
#include <cstddef>

#include "gmd/gui/case_files.hpp"

namespace gmd::gui {

class CaseController;

// What the modality bar shows for one slot.
struct SlotInfo {
  bool present = false;
  QString path;
  QString file_name;
  qint64 bytes = 0;
  std::array<std::size_t, 3> size{0, 0, 0};
  std::array<double, 3> spacing{0, 0, 0};
  QString tooltip() const;  // file name, size on disk, voxels, spacing
};

// Qt list model of the four modality slots (rows FLAIR, T1, T1ce, T2) for the modality bar.
class ModalityBarModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    PresentRole = Qt::UserRole + 1,  // bool: file loaded for this modality
    SelectedRole,                    // bool: ticked for segmentation (only if present)
    DisplayedRole,                   // bool: shown in the views
    FileNameRole,                    // QString
    PathRole,                        // QString
    SizeTextRole                     // QString e.g. "240 x 240 x 155, 1 x 1 x 1 mm"
  };
  explicit ModalityBarModel(CaseController* controller);
  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QHash<int, QByteArray> roleNames() const override;
  void refresh();

 private:
  CaseController* c_;
};

}  // namespace gmd::gui
