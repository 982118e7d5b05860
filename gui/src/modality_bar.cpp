#include "gmd/gui/modality_bar.hpp"

#include <QCheckBox>
#include <QEvent>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include "gmd/gui/case_controller.hpp"

namespace gmd::gui {

ModalityBar::ModalityBar(CaseController* controller, QWidget* parent) : QFrame(parent), c_(controller) {
  setObjectName("modalityBar");
  setFrameShape(QFrame::NoFrame);
  auto* lay = new QHBoxLayout(this);
  lay->setContentsMargins(6, 4, 6, 4);
  lay->setSpacing(6);
  case_label_ = new QLabel(this);
  case_label_->setObjectName("caseLabel");
  case_label_->setMinimumWidth(120);
  case_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  lay->addWidget(case_label_);
  for (int m = 0; m < kNumModalities; ++m) {
    Chip& ch = chips_[static_cast<size_t>(m)];
    ch.frame = new QFrame(this);
    ch.frame->setObjectName(QString("chip_%1").arg(QString::fromStdString(std::string(modality_key(m)))));
    ch.frame->setProperty("chip", true);
    ch.frame->setCursor(Qt::PointingHandCursor);
    ch.frame->installEventFilter(this);
    auto* cl = new QHBoxLayout(ch.frame);
    cl->setContentsMargins(6, 2, 2, 2);
    cl->setSpacing(4);
    ch.use = new QCheckBox(QString::fromStdString(std::string(modality_display(m))), ch.frame);
    ch.use->setToolTip("Use this modality for segmentation");
    connect(ch.use, &QCheckBox::toggled, this, [this, m](bool on) {
      if (c_->slot(m).present) c_->setModalitySelected(m, on);
    });
    ch.state = new QLabel(ch.frame);
    ch.state->setObjectName("chipState");
    ch.state->setMinimumWidth(60);
    ch.state->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    ch.state->installEventFilter(this);
    ch.menu = new QToolButton(ch.frame);
    ch.menu->setText(QString::fromUtf8("\u22EF"));
    ch.menu->setAutoRaise(true);
    ch.menu->setPopupMode(QToolButton::InstantPopup);
    ch.menu->setToolTip("Show, assign a file, or remove");
    auto* menu = new QMenu(ch.menu);
    QAction* show = menu->addAction("Show in views");
    connect(show, &QAction::triggered, this, [this, m] { c_->setDisplayed(m); });
    QAction* assign = menu->addAction("Assign file...");
    connect(assign, &QAction::triggered, this, [this, m] { Q_EMIT assignRequested(m); });
    QAction* remove = menu->addAction("Remove from case");
    connect(remove, &QAction::triggered, this, [this, m] { c_->removeModality(m); });
    connect(menu, &QMenu::aboutToShow, this, [this, m, show, remove] {
      show->setEnabled(c_->slot(m).present);
      remove->setEnabled(c_->slot(m).present && subset_size(c_->present()) > 1);
    });
    ch.menu->setMenu(menu);
    cl->addWidget(ch.use);
    cl->addWidget(ch.state, 1);
    cl->addWidget(ch.menu);
    lay->addWidget(ch.frame, 1);
  }
  connect(c_, &CaseController::caseChanged, this, &ModalityBar::refresh);
  connect(c_, &CaseController::selectionChanged, this, &ModalityBar::refresh);
  connect(c_, &CaseController::displayedChanged, this, &ModalityBar::refresh);
  refresh();
}

QString ModalityBar::chipText(int m) const { return chips_.at(static_cast<size_t>(m)).state->text(); }
QCheckBox* ModalityBar::useBox(int m) const { return chips_.at(static_cast<size_t>(m)).use; }

void ModalityBar::refresh() {
  case_label_->setText(c_->hasCase() ? QString("<b>%1</b>").arg(c_->caseId().toHtmlEscaped())
                                     : QString("<i>no case open</i>"));
  case_label_->setToolTip(c_->caseFolder());
  for (int m = 0; m < kNumModalities; ++m) {
    Chip& ch = chips_[static_cast<size_t>(m)];
    const SlotInfo& s = c_->slot(m);
    const bool shown = c_->displayed() == m;
    QSignalBlocker block(ch.use);
    ch.use->setEnabled(s.present);
    ch.use->setChecked(s.present && subset_has(c_->selected(), m));
    const QFontMetrics fm(ch.state->font());
    ch.state->setText(s.present ? fm.elidedText(s.file_name, Qt::ElideLeft, std::max(40, ch.state->width() - 4)) : QString("absent"));
    ch.frame->setToolTip(s.present ? s.tooltip() + (shown ? "\n(shown in the views)" : "\nclick to show")
                                   : QString("%1 is absent; use the menu to assign a file")
                                         .arg(QString::fromStdString(std::string(modality_display(m)))));
    ch.frame->setProperty("present", s.present);
    ch.frame->setProperty("shown", shown);
    ch.frame->style()->unpolish(ch.frame);
    ch.frame->style()->polish(ch.frame);
  }
}

void ModalityBar::resizeEvent(QResizeEvent* e) {
  QFrame::resizeEvent(e);
  refresh();
}

bool ModalityBar::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::MouseButtonPress) {
    for (int m = 0; m < kNumModalities; ++m) {
      const Chip& ch = chips_[static_cast<size_t>(m)];
      if (watched == ch.frame || watched == ch.state) {
        if (c_->slot(m).present) c_->setDisplayed(m);
        else Q_EMIT assignRequested(m);
        return true;
      }
    }
  }
  return QFrame::eventFilter(watched, event);
}

}  // namespace gmd::gui
