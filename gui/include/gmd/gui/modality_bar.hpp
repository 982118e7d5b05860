#pragma once
// The modality bar: one chip per modality (FLAIR, T1, T1ce, T2) showing present/absent, the file
// (details on hover), a tick box "use for segmentation", which one is displayed (click a chip to
// display it), and a menu to assign a file to the slot by hand or remove it.
#include <QFrame>
#include <array>

#include "gmd/common/modality.hpp"

class QCheckBox;
class QLabel;
class QToolButton;

namespace gmd::gui {

class CaseController;

class ModalityBar : public QFrame {
  Q_OBJECT
 public:
  explicit ModalityBar(CaseController* controller, QWidget* parent = nullptr);
  // Text of a chip's state line, for tests: file name, or "absent".
  QString chipText(int m) const;
  QCheckBox* useBox(int m) const;

 Q_SIGNALS:
  // The user asked to assign a file to slot m (the main window shows a file dialog).
  void assignRequested(int m);

 public Q_SLOTS:
  void refresh();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  struct Chip {
    QFrame* frame = nullptr;
    QCheckBox* use = nullptr;
    QLabel* state = nullptr;
    QToolButton* menu = nullptr;
  };
  CaseController* c_;
  std::array<Chip, kNumModalities> chips_;
  QLabel* case_label_ = nullptr;
};

}  // namespace gmd::gui
