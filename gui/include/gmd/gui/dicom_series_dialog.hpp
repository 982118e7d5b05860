#pragma once
// The series of a DICOM folder, one row each (description, slices, orientation, what the tags propose and why), with
// the modality each is used as: the user confirms or changes the proposals (issue 15). Opened from the modality bar's
// "..." on a DICOM case, from File > DICOM series, and when a folder's series name no modality.
#include <QDialog>
#include <QString>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/io/dicom.hpp"

class QComboBox;

namespace gmd::gui {

class DicomSeriesDialog : public QDialog {
  Q_OBJECT
 public:
  // `chosen[m]`: the UID of the series now used as modality m ("" none); rows start from it.
  DicomSeriesDialog(const std::vector<io::DicomSeries>& series, const std::array<std::string, kNumModalities>& chosen,
                    QWidget* parent = nullptr);
  // Every series -> the modality chosen for it, or -1 (not used).
  std::map<std::string, int> assignment() const;
  // "" when the assignment can be read; else why not, in words (one modality given to two series; nothing used).
  QString problem() const;
  int rows() const { return static_cast<int>(combos_.size()); }
  void setChoice(int row, int modality);  // -1 = not used; for tests and scripts
  int choice(int row) const;

  void accept() override;  // refuses (and says why) while problem() is not empty

 private:
  std::vector<io::DicomSeries> series_;
  std::vector<QComboBox*> combos_;
};

}  // namespace gmd::gui
