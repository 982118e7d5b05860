#include "gmd/gui/dicom_series_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "gmd/gui/qtext.hpp"

namespace gmd::gui {

DicomSeriesDialog::DicomSeriesDialog(const std::vector<io::DicomSeries>& series,
                                     const std::array<std::string, kNumModalities>& chosen, QWidget* parent)
    : QDialog(parent), series_(series) {
  setWindowTitle("DICOM series");
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      "Which sequence is each series? The proposals come from the series' description, protocol and contrast tags; "
      "change any that is wrong. Series not used are ignored.",
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);
  auto* table = new QTableWidget(static_cast<int>(series.size()), 5, this);
  table->setObjectName("dicomSeriesTable");
  table->setHorizontalHeaderLabels({"Series", "Slices", "Orientation", "Proposal", "Use as"});
  table->verticalHeader()->setVisible(false);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table->setSelectionMode(QAbstractItemView::NoSelection);
  for (int r = 0; r < static_cast<int>(series.size()); ++r) {
    const io::DicomSeries& s = series[static_cast<size_t>(r)];
    auto* name = new QTableWidgetItem(q(s.description.empty() ? s.uid : s.description));
    name->setToolTip(q("UID " + s.uid + (s.protocol.empty() ? "" : "\nprotocol " + s.protocol)));
    table->setItem(r, 0, name);
    table->setItem(r, 1, new QTableWidgetItem(QString::number(s.files.size())));
    table->setItem(r, 2, new QTableWidgetItem(q(s.orientation)));
    const QString proposal = s.proposed >= 0 ? q(std::string(modality_display(s.proposed))) + ": " + q(s.why) : q(s.why);
    auto* why = new QTableWidgetItem(proposal);
    why->setToolTip(proposal);
    table->setItem(r, 3, why);
    auto* combo = new QComboBox(table);
    combo->addItem("not used", -1);
    for (int m = 0; m < kNumModalities; ++m) combo->addItem(q(std::string(modality_display(m))), m);
    int now = -1;
    for (int m = 0; m < kNumModalities; ++m)
      if (!chosen[static_cast<size_t>(m)].empty() && chosen[static_cast<size_t>(m)] == s.uid) now = m;
    combo->setCurrentIndex(now + 1);
    table->setCellWidget(r, 4, combo);
    combos_.push_back(combo);
  }
  table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  table->horizontalHeader()->setSectionResizeMode(3, QHeaderView::Stretch);
  layout->addWidget(table);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText("Read the series");
  connect(buttons, &QDialogButtonBox::accepted, this, &DicomSeriesDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &DicomSeriesDialog::reject);
  layout->addWidget(buttons);
  resize(860, 120 + 32 * std::min<int>(static_cast<int>(series.size()), 12));
}

std::map<std::string, int> DicomSeriesDialog::assignment() const {
  std::map<std::string, int> a;
  for (size_t r = 0; r < combos_.size(); ++r) a[series_[r].uid] = combos_[r]->currentData().toInt();
  return a;
}

QString DicomSeriesDialog::problem() const {
  std::array<int, kNumModalities> row_of{-1, -1, -1, -1};
  bool any = false;
  for (size_t r = 0; r < combos_.size(); ++r) {
    const int m = combos_[r]->currentData().toInt();
    if (m < 0) continue;
    any = true;
    if (row_of[static_cast<size_t>(m)] >= 0)
      return QString("%1 is given to two series ('%2' and '%3'); choose one.")
          .arg(q(std::string(modality_display(m))), q(series_[static_cast<size_t>(row_of[static_cast<size_t>(m)])].description),
               q(series_[r].description));
    row_of[static_cast<size_t>(m)] = static_cast<int>(r);
  }
  return any ? QString() : QString("No series is used: give at least one series a sequence (FLAIR, T1, T1ce or T2).");
}

void DicomSeriesDialog::setChoice(int row, int modality) {
  if (row < 0 || row >= rows()) return;
  combos_[static_cast<size_t>(row)]->setCurrentIndex(std::clamp(modality, -1, kNumModalities - 1) + 1);
}

int DicomSeriesDialog::choice(int row) const {
  return row >= 0 && row < rows() ? combos_[static_cast<size_t>(row)]->currentData().toInt() : -1;
}

void DicomSeriesDialog::accept() {
  if (const QString why = problem(); !why.isEmpty()) {
    QMessageBox::warning(this, "DICOM series", why);
    return;
  }
  QDialog::accept();
}

}  // namespace gmd::gui
