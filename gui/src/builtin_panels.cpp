// The clinician's panels: Segment (run + overlay controls), Report (volumes, exports), Model.
#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSlider>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <vector>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/main_window.hpp"
#include "gmd/gui/panel_registry.hpp"
#include "gmd/gui/qtext.hpp"
#include "gmd/gui/report.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/viz/view_area.hpp"

namespace gmd::gui {
namespace {

QIcon swatch(const viz::Rgb& c) {
  QPixmap pm(14, 14);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(QColor(20, 20, 20));
  p.setBrush(QColor(c.r, c.g, c.b));
  p.drawRoundedRect(QRectF(0.5, 0.5, 13, 13), 3, 3);
  return QIcon(pm);
}

// ------------------------------------------------------------------------------------ Segment
class SegmentPanel : public QWidget {
 public:
  SegmentPanel(StudioContext& ctx, QWidget* parent) : QWidget(parent), ctx_(ctx) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(10, 10, 10, 10);
    lay->setSpacing(8);

    auto* run = new QGroupBox("Segmentation", this);
    auto* rl = new QVBoxLayout(run);
    model_ = new QLabel(run);
    model_->setObjectName("modelLine");
    model_->setWordWrap(true);
    uses_ = new QLabel(run);
    uses_->setObjectName("usesLine");
    uses_->setWordWrap(true);
    trust_ = new QLabel(run);
    trust_->setObjectName("expectedAccuracy");
    trust_->setWordWrap(true);
    trust_->setToolTip(QString("Mean Dice of this model with these sequences on held-out cases (model.json). good: "
                               "Dice >= %1; limited: >= %2; unreliable: below. +X: the missing sequence that would "
                               "raise it most, and to what.")
                           .arg(pipeline::kGoodDice, 0, 'f', 2)
                           .arg(pipeline::kLimitedDice, 0, 'f', 2));
    agreement_ = new QCheckBox("Map subset agreement", run);
    agreement_->setObjectName("agreementCheck");
    agreement_->setToolTip("Also predict every subset of the sequences in use (one pass per sequence is shared) and "
                           "show where they agree: voxels that only some sequences support stand out. Overlay "
                           "'Subset agreement'; File > Export subset agreement maps.");
    agreement_->setChecked(ctx_.segmentation->options().agreement);
    button_ = new QPushButton("Segment", run);
    button_->setObjectName("segmentPanelButton");
    button_->setMinimumHeight(34);
    button_->setDefault(true);
    auto* prow = new QHBoxLayout;
    progress_ = new QProgressBar(run);
    progress_->setObjectName("segmentProgress");
    progress_->setRange(0, 1000);
    progress_->setTextVisible(false);
    cancel_ = new QPushButton("Cancel", run);
    cancel_->setObjectName("cancelButton");
    prow->addWidget(progress_, 1);
    prow->addWidget(cancel_);
    stage_ = new QLabel(run);
    stage_->setObjectName("stageLine");
    stage_->setWordWrap(true);
    rl->addWidget(model_);
    rl->addWidget(uses_);
    rl->addWidget(trust_);
    rl->addWidget(agreement_);
    rl->addWidget(button_);
    rl->addLayout(prow);
    rl->addWidget(stage_);
    lay->addWidget(run);

    auto* ov = new QGroupBox("Overlay", this);
    auto* ol = new QVBoxLayout(ov);
    auto* form = new QFormLayout;
    source_ = new QComboBox(ov);
    source_->setObjectName("overlaySource");
    form->addRow("Show", source_);
    agreement_region_ = new QComboBox(ov);
    agreement_region_->setObjectName("agreementRegion");
    for (int r = 0; r < 3; ++r)
      agreement_region_->addItem(QString("%1  %2").arg(viz::region_short_name(r), viz::region_long_name(r)), r);
    agreement_region_->setToolTip("Region whose subset agreement is shown: blue where every subset includes the "
                                  "voxel, orange where at least half do, magenta where fewer than half do");
    form->addRow("Agreement of", agreement_region_);
    form_ = form;
    auto* mode_row = new QHBoxLayout;
    labels_mode_ = new QRadioButton("Labels", ov);
    regions_mode_ = new QRadioButton("Regions", ov);
    regions_mode_->setToolTip("Nested regions: WT (whole tumour) > TC (tumour core) > ET (enhancing)");
    labels_mode_->setChecked(true);
    mode_row->addWidget(labels_mode_);
    mode_row->addWidget(regions_mode_);
    mode_row->addStretch();
    form->addRow("Mode", mode_row);
    ol->addLayout(form);
    for (int i = 0; i < 3; ++i) {
      toggles_[i] = new QCheckBox(ov);
      toggles_[i]->setObjectName(QString("overlayToggle%1").arg(i));
      toggles_[i]->setChecked(true);
      ol->addWidget(toggles_[i]);
      connect(toggles_[i], &QCheckBox::toggled, this, [this] { pushStyle(); });
    }
    auto* orow = new QHBoxLayout;
    opacity_ = new QSlider(Qt::Horizontal, ov);
    opacity_->setObjectName("opacitySlider");
    opacity_->setRange(0, 100);
    opacity_->setValue(50);
    opacity_text_ = new QLabel("50 %", ov);
    opacity_text_->setMinimumWidth(40);
    orow->addWidget(new QLabel("Opacity", ov));
    orow->addWidget(opacity_, 1);
    orow->addWidget(opacity_text_);
    ol->addLayout(orow);
    brain_ = new QCheckBox("Brain outline in the 3D view", ov);
    brain_->setChecked(true);
    ol->addWidget(brain_);
    auto* centre = new QPushButton("Centre views on the tumour", ov);
    centre->setObjectName("centreButton");
    ol->addWidget(centre);
    lay->addWidget(ov);
    lay->addStretch();

    connect(button_, &QPushButton::clicked, this, [this] { ctx_.window->startSegmentation(); });
    connect(cancel_, &QPushButton::clicked, this, [this] { ctx_.window->cancelSegmentation(); });
    connect(labels_mode_, &QRadioButton::toggled, this, [this] {
      refreshToggleText();
      pushStyle();
    });
    connect(opacity_, &QSlider::valueChanged, this, [this](int v) {
      opacity_text_->setText(QString("%1 %").arg(v));
      pushStyle();
    });
    connect(brain_, &QCheckBox::toggled, this, [this](bool on) { ctx_.views->setBrainOutlineVisible(on); });
    connect(centre, &QPushButton::clicked, this, [this] {
      ctx_.views->centreOnTumour();
    });
    connect(source_, &QComboBox::activated, this, [this](int i) {
      ctx_.window->setOverlaySource(static_cast<MainWindow::OverlaySource>(source_->itemData(i).toInt()));
    });
    connect(agreement_region_, &QComboBox::activated, this,
            [this](int i) { ctx_.window->setAgreementRegion(agreement_region_->itemData(i).toInt()); });
    connect(agreement_, &QCheckBox::toggled, this, [this](bool on) { ctx_.segmentation->setAgreement(on); });
    connect(ctx_.segmentation, &SegmentationController::optionsChanged, this, [this] {
      QSignalBlocker b(agreement_);
      agreement_->setChecked(ctx_.segmentation->options().agreement);
    });
    auto* seg = ctx_.segmentation;
    connect(seg, &SegmentationController::progressChanged, this, [this](const QString& stage, double f) {
      progress_->setValue(static_cast<int>(f * 1000));
      stage_->setText(QString("%1 (%2 %)").arg(stage).arg(qRound(f * 100)));
    });
    connect(seg, &SegmentationController::runningChanged, this, [this] { refresh(); });
    connect(seg, &SegmentationController::failed, this, [this](const QString& m) {
      stage_->setText(QString("<span style='color:#ff8a80'>Failed: %1</span>").arg(m.toHtmlEscaped()));
    });
    connect(seg, &SegmentationController::cancelled, this, [this] {
      progress_->setValue(0);
      stage_->setText("Cancelled.");
    });
    connect(seg, &SegmentationController::finished, this, [this] {
      const auto r = ctx_.segmentation->result();
      if (r)
        stage_->setText(QString("Done in %1 s on %2 with %3.")
                            .arg(r->seconds, 0, 'f', 1)
                            .arg(q(r->device).toUpper(), q(subset_name(r->used))));
    });
    connect(ctx_.cases, &CaseController::caseChanged, this, [this] {
      progress_->setValue(0);
      stage_->clear();
      refresh();
    });
    connect(ctx_.cases, &CaseController::selectionChanged, this, [this] { refresh(); });
    connect(ctx_.models, &ModelController::modelChanged, this, [this] { refresh(); });
    connect(ctx_.window, &MainWindow::overlayChanged, this, [this] {
      refreshSource();
      syncStyle();
    });
    refreshToggleText();
    refresh();
    refreshSource();
  }

 private:
  void refreshToggleText() {
    const auto& pal = viz::Palette::builtin();
    const bool labels = labels_mode_->isChecked();
    const bool agreement = ctx_.window->overlaySource() == MainWindow::OverlaySource::Agreement;
    for (int i = 0; i < 3; ++i) {
      static const char* kShortLabel[3] = {"necrotic / non-enh. core", "edema", "enhancing tumour"};
      if (agreement) {
        toggles_[i]->setText(QString("%1 of the subsets").arg(viz::agreement_bin_name(i)));
        toggles_[i]->setToolTip(i == 0   ? "Voxels of the region that every subset of the sequences in use includes"
                                : i == 1 ? "Included by at least half of the subsets, but not all"
                                         : "Included by fewer than half of the subsets: weakly supported");
        toggles_[i]->setIcon(swatch(pal.agreement[static_cast<size_t>(i)]));
      } else if (labels) {
        toggles_[i]->setText(QString("%1  %2").arg(viz::label_short_name(i), kShortLabel[i]));
        toggles_[i]->setToolTip(QString("Label %1: %2").arg(viz::kLabelValues[static_cast<size_t>(i)]).arg(viz::label_long_name(i)));
        toggles_[i]->setIcon(swatch(pal.label[static_cast<size_t>(i)]));
      } else {
        toggles_[i]->setText(QString("%1  %2").arg(viz::region_short_name(i), viz::region_long_name(i)));
        toggles_[i]->setToolTip(i == 0 ? "Labels 1, 2, 4" : i == 1 ? "Labels 1, 4" : "Label 4");
        toggles_[i]->setIcon(swatch(pal.region[static_cast<size_t>(i)]));
      }
    }
  }

  // Controls follow the window's style when someone else changes it (e.g. --overlay regions).
  void syncStyle() {
    const viz::OverlayStyle s = ctx_.window->overlayStyle();
    const bool labels = s.mode == viz::OverlayMode::Labels;
    std::vector<QSignalBlocker> blocks;
    blocks.emplace_back(labels_mode_);
    blocks.emplace_back(regions_mode_);
    blocks.emplace_back(opacity_);
    for (auto* t : toggles_) blocks.emplace_back(t);
    labels_mode_->setChecked(labels);
    regions_mode_->setChecked(!labels);
    for (int i = 0; i < 3; ++i) toggles_[i]->setChecked(s.visible[static_cast<size_t>(i)]);
    opacity_->setValue(static_cast<int>(std::lround(s.opacity * 100)));
    opacity_text_->setText(QString("%1 %").arg(opacity_->value()));
    refreshToggleText();
  }

  void pushStyle() {
    viz::OverlayStyle s;
    s.mode = labels_mode_->isChecked() ? viz::OverlayMode::Labels : viz::OverlayMode::Regions;
    for (int i = 0; i < 3; ++i) s.visible[static_cast<size_t>(i)] = toggles_[i]->isChecked();
    s.opacity = opacity_->value() / 100.0;
    ctx_.window->setOverlayStyle(s);
  }

  void refresh() {
    const bool running = ctx_.segmentation->isRunning();
    const SubsetMask sel = ctx_.cases->selected();
    model_->setText(QString("<b>Model:</b> %1").arg(ctx_.models->displayName().toHtmlEscaped()));
    QString uses;
    if (!ctx_.cases->hasCase()) uses = "Open a case to segment it.";
    else if (sel == 0) uses = "<span style='color:#ffb74d'>No modality ticked: tick at least one in the bar.</span>";
    else {
      uses = QString("<b>Uses:</b> %1").arg(q(subset_name(sel)));
      if (sel != ctx_.cases->present()) uses += QString(" (of %1 present)").arg(q(subset_name(ctx_.cases->present())));
      const QString why = ctx_.models->checkUsable(sel);
      if (!why.isEmpty()) uses += QString("<br><span style='color:#ffb74d'>%1</span>").arg(why.toHtmlEscaped());
    }
    uses_->setText(uses);
    // Before segmenting: what these sequences can be trusted for (once the model is loaded).
    const auto trust = ctx_.cases->hasCase() ? ctx_.models->expectedTrust(sel) : std::nullopt;
    trust_->setVisible(trust.has_value());
    if (trust) trust_->setText(expected_accuracy_html(*trust));
    button_->setEnabled(ctx_.cases->hasCase() && sel != 0 && !running);
    cancel_->setEnabled(running);
    if (!running && progress_->value() == 0) progress_->setValue(0);
  }

  void refreshSource() {
    QSignalBlocker b(source_);
    source_->clear();
    if (ctx_.window->hasSegmentation())
      source_->addItem("Segmentation", static_cast<int>(MainWindow::OverlaySource::Segmentation));
    if (ctx_.window->hasAgreement())
      source_->addItem("Subset agreement", static_cast<int>(MainWindow::OverlaySource::Agreement));
    if (ctx_.window->hasReference())
      source_->addItem("Reference (case _seg file)", static_cast<int>(MainWindow::OverlaySource::Reference));
    source_->addItem("None", static_cast<int>(MainWindow::OverlaySource::None));
    source_->setCurrentIndex(source_->findData(static_cast<int>(ctx_.window->overlaySource())));
    const bool agreement = ctx_.window->overlaySource() == MainWindow::OverlaySource::Agreement;
    form_->setRowVisible(agreement_region_, agreement);
    {
      QSignalBlocker br(agreement_region_);
      agreement_region_->setCurrentIndex(agreement_region_->findData(ctx_.window->agreementRegion()));
    }
    labels_mode_->setEnabled(!agreement);
    regions_mode_->setEnabled(!agreement);
    refreshToggleText();
  }

  StudioContext& ctx_;
  QLabel *model_, *uses_, *trust_, *stage_, *opacity_text_;
  QPushButton *button_, *cancel_;
  QProgressBar* progress_;
  QComboBox *source_, *agreement_region_;
  QFormLayout* form_;
  QCheckBox* agreement_;
  QRadioButton *labels_mode_, *regions_mode_;
  QCheckBox* toggles_[3];
  QSlider* opacity_;
  QCheckBox* brain_;
};

// ------------------------------------------------------------------------------------ Report
class ReportPanel : public QWidget {
 public:
  ReportPanel(StudioContext& ctx, QWidget* parent) : QWidget(parent), ctx_(ctx) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(10, 10, 10, 10);
    lay->setSpacing(8);
    info_ = new QLabel(this);
    info_->setObjectName("reportInfo");
    info_->setWordWrap(true);
    info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(info_);
    trust_ = new QLabel(this);
    trust_->setObjectName("reportTrust");
    trust_->setWordWrap(true);
    trust_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(trust_);
    table_ = new QTableWidget(5, 2, this);
    table_->setObjectName("volumeTable");
    table_->setHorizontalHeaderLabels({"Region / label", "Volume (mL)"});
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::NoSelection);
    table_->setFocusPolicy(Qt::NoFocus);
    const auto& pal = viz::Palette::builtin();
    const QStringList names{"WT  whole tumour", "TC  tumour core", "ET  enhancing tumour", "NCR/NET  necrotic core",
                            "ED  edema"};
    const std::array<viz::Rgb, 5> colours{pal.region[0], pal.region[1], pal.label[2], pal.label[0], pal.label[1]};
    for (int r = 0; r < 5; ++r) {
      auto* item = new QTableWidgetItem(swatch(colours[static_cast<size_t>(r)]), names[r]);
      table_->setItem(r, 0, item);
      auto* v = new QTableWidgetItem("-");
      v->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, 1, v);
    }
    table_->setMinimumHeight(table_->horizontalHeader()->height() + 5 * table_->verticalHeader()->defaultSectionSize() + 4);
    table_->setMaximumHeight(table_->minimumHeight());
    lay->addWidget(table_);
    auto* b1 = new QPushButton("Export label map (NIfTI)...", this);
    auto* b2 = new QPushButton("Export report (CSV / JSON)...", this);
    auto* b3 = new QPushButton("Save screenshot (PNG)...", this);
    b1->setObjectName("exportLabelsButton");
    b2->setObjectName("exportReportButton");
    b3->setObjectName("screenshotButton");
    lay->addWidget(b1);
    lay->addWidget(b2);
    lay->addWidget(b3);
    lay->addStretch();
    auto* note = new QLabel("Volumes count voxels of each label times the voxel volume. Research software; "
                            "not for diagnosis.", this);
    note->setWordWrap(true);
    note->setStyleSheet("color: #8a9099; font-size: 11px;");
    lay->addWidget(note);
    exports_ = {b1, b2};
    connect(b1, &QPushButton::clicked, ctx_.window, &MainWindow::chooseExportLabels);
    connect(b2, &QPushButton::clicked, ctx_.window, &MainWindow::chooseExportReport);
    connect(b3, &QPushButton::clicked, ctx_.window, &MainWindow::chooseScreenshot);
    connect(ctx_.window, &MainWindow::reportChanged, this, [this] { refresh(); });
    refresh();
  }

 private:
  void refresh() {
    const auto r = ctx_.window->report();
    for (auto* b : exports_) b->setEnabled(r.has_value());
    if (!r) {
      info_->setText(ctx_.cases->hasCase() ? "No segmentation yet: press Segment." : "No case open.");
      for (int i = 0; i < 5; ++i) table_->item(i, 1)->setText("-");
      trust_->hide();
      return;
    }
    trust_->setVisible(r->trust.has_value());
    if (r->trust) trust_->setText(expected_accuracy_html(*r->trust));
    QString t = QString("<b>Case:</b> %1<br>").arg(q(r->case_id).toHtmlEscaped());
    if (r->source == "segmentation") {
      t += QString("<b>Source:</b> segmentation<br><b>Modalities used:</b> %1").arg(q(subset_name(r->used)));
      if (r->used != r->present) t += QString(" (of %1 present)").arg(q(subset_name(r->present)));
      t += QString("<br><b>Model:</b> %1<br><b>Run:</b> %2 s on %3")
               .arg(q(r->model_name).toHtmlEscaped())
               .arg(r->seconds, 0, 'f', 1)
               .arg(q(r->device).toUpper());
    } else {
      t += QString("<b>Source:</b> reference segmentation (the case's _seg file)<br><b>Modalities present:</b> %1")
               .arg(q(subset_name(r->present)));
    }
    info_->setText(t);
    const std::array<double, 5> v{r->region_ml[0], r->region_ml[1], r->region_ml[2], r->label_ml[0], r->label_ml[1]};
    for (int i = 0; i < 5; ++i) table_->item(i, 1)->setText(QString::number(v[static_cast<size_t>(i)], 'f', 2));
  }

  StudioContext& ctx_;
  QLabel *info_, *trust_;
  QTableWidget* table_;
  std::vector<QPushButton*> exports_;
};

// ------------------------------------------------------------------------------------ Model
class ModelPanel : public QWidget {
 public:
  ModelPanel(StudioContext& ctx, QWidget* parent) : QWidget(parent), ctx_(ctx) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(10, 10, 10, 10);
    name_ = new QLabel(this);
    name_->setObjectName("modelName");
    name_->setWordWrap(true);
    usable_ = new QLabel(this);
    usable_->setObjectName("modelUsable");
    usable_->setWordWrap(true);
    auto* row = new QHBoxLayout;
    auto* load = new QPushButton("Load from run folder...", this);
    auto* def = new QPushButton("Use default", this);
    auto* show = new QPushButton("Show card", this);
    row->addWidget(load);
    row->addWidget(def);
    row->addWidget(show);
    card_ = new QPlainTextEdit(this);
    card_->setObjectName("modelCard");
    card_->setReadOnly(true);
    card_->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    card_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    lay->addWidget(name_);
    lay->addLayout(row);
    lay->addWidget(usable_);
    lay->addWidget(card_, 1);
    connect(load, &QPushButton::clicked, ctx_.window, &MainWindow::chooseModel);
    connect(def, &QPushButton::clicked, this, [this] { ctx_.models->useDefault(); });
    connect(show, &QPushButton::clicked, this, [this] {
      ctx_.models->ensureLoaded();
      refresh();
    });
    connect(ctx_.models, &ModelController::modelChanged, this, [this] { refresh(); });
    connect(ctx_.cases, &CaseController::selectionChanged, this, [this] { refresh(); });
    connect(ctx_.models, &ModelController::errorOccurred, this, [this](const QString&, const QString& m) {
      usable_->setText(QString("<span style='color:#ff8a80'>%1</span>").arg(m.toHtmlEscaped()));
    });
    refresh();
  }

 private:
  void refresh() {
    name_->setText(QString("<b>%1</b><br><small>%2</small>")
                       .arg(ctx_.models->displayName().toHtmlEscaped(), ctx_.models->modelPath().toHtmlEscaped()));
    card_->setPlainText(ctx_.models->summary());
    if (!ctx_.models->isLoaded() || !ctx_.cases->hasCase()) {
      usable_->clear();
      return;
    }
    const QString why = ctx_.models->checkUsable(ctx_.cases->selected());
    usable_->setText(why.isEmpty() ? QString("<span style='color:#81c784'>Can segment this case with %1.</span>")
                                         .arg(q(subset_name(ctx_.cases->selected())))
                                   : QString("<span style='color:#ffb74d'>%1</span>").arg(why.toHtmlEscaped()));
  }
  StudioContext& ctx_;
  QLabel *name_, *usable_;
  QPlainTextEdit* card_;
};

}  // namespace
}  // namespace gmd::gui

GMD_REGISTER_PANEL(segment, "Segment", 10, [](gmd::gui::StudioContext& ctx, QWidget* parent) -> QWidget* {
  return new gmd::gui::SegmentPanel(ctx, parent);
})
GMD_REGISTER_PANEL(report, "Report", 20, [](gmd::gui::StudioContext& ctx, QWidget* parent) -> QWidget* {
  return new gmd::gui::ReportPanel(ctx, parent);
})
GMD_REGISTER_PANEL(model, "Model", 30, [](gmd::gui::StudioContext& ctx, QWidget* parent) -> QWidget* {
  return new gmd::gui::ModelPanel(ctx, parent);
})
