// AblationPanel: every modality subset's segmentation of the loaded case (see ablation_panel.hpp).
#include "gmd/common/regions.hpp"
#include "gmd/panels/ablation_panel.hpp"

#include <QBarCategoryAxis>
#include <QHorizontalBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QEventLoop>
#include <QFontMetrics>
#include <QSaveFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegend>
#include <QMouseEvent>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QResizeEvent>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>
#include <QWheelEvent>
#include <cmath>
#include <functional>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/panels/charts.hpp"
#include "gmd/panels/style.hpp"

namespace gmd::panels {

namespace ablation_detail {

QString dice_text(double d) { return std::isfinite(d) ? QString::number(d, 'f', 2) : QStringLiteral("\u2013"); }
// ".82" / "1.0" in the thumbnails' captions, where space is short.
QString dice_short(double d) {
  if (!std::isfinite(d)) return QStringLiteral("\u2013");
  if (d >= 0.995) return QStringLiteral("1.0");
  return QString::number(d, 'f', 2).mid(1);
}

struct Tile {
  QImage image;
  QString title, short_title, caption;
  SubsetMask subset = 0;  // 0 = the reference tile
};

// Lays tiles out in a grid: fitted into the widget (every tile visible, as large as possible) or in a
// fixed number of columns (PNG export).
struct TileLayout {
  int cols = 1, tile_w = 0, img_h = 0, tile_h = 0;
  static constexpr int kGap = 4;
  static int text_h(const QFontMetrics& fm) { return 2 * fm.height() + 6; }
  static TileLayout columns(int width, int cols, QSizeF extent, const QFontMetrics& fm) {
    TileLayout l;
    l.cols = std::max(1, cols);
    l.tile_w = std::max(40, (width - (l.cols + 1) * kGap) / l.cols);
    const double aspect = extent.width() > 0 ? extent.height() / extent.width() : 1.0;
    l.img_h = static_cast<int>(std::lround(l.tile_w * aspect));
    l.tile_h = l.img_h + text_h(fm);
    return l;
  }
  static TileLayout fit(int width, int height, int n, QSizeF extent, const QFontMetrics& fm) {
    const double aspect = extent.width() > 0 ? extent.height() / extent.width() : 1.0;
    int best_cols = 1;
    double best_w = -1.0;
    for (int cols = 1; cols <= std::max(1, std::min(n, 8)); ++cols) {
      const int rows = (n + cols - 1) / cols;
      const double by_w = static_cast<double>(width - (cols + 1) * kGap) / cols;
      const double by_h = (static_cast<double>(height - (rows + 1) * kGap) / rows - text_h(fm)) / aspect;
      const double w = std::min(by_w, by_h);
      if (w > best_w + 0.5) {
        best_w = w;
        best_cols = cols;
      }
    }
    TileLayout l;
    l.cols = best_cols;
    l.tile_w = std::max(40, static_cast<int>(best_w));
    l.img_h = static_cast<int>(std::lround(l.tile_w * aspect));
    l.tile_h = l.img_h + text_h(fm);
    return l;
  }
  int height(int n) const { return n == 0 ? 0 : ((n + cols - 1) / cols) * (tile_h + kGap) + kGap; }
  QRect rect(int i) const {
    return {kGap + (i % cols) * (tile_w + kGap), kGap + (i / cols) * (tile_h + kGap), tile_w, tile_h};
  }
};

void paint_tiles(QPainter& p, const std::vector<Tile>& tiles, const TileLayout& l, SubsetMask selected,
                 const QFont& font) {
  p.setFont(font);
  const QFontMetrics fm(font);
  p.setRenderHint(QPainter::SmoothPixmapTransform);
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    const QRect r = l.rect(static_cast<int>(i));
    p.fillRect(r, QColor(24, 24, 24));
    const QRect img(r.left(), r.top(), r.width(), l.img_h);
    if (!t.image.isNull()) p.drawImage(img, t.image);
    QFont bold = font;
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(t.subset == 0 ? QColor(255, 200, 90) : QColor(235, 235, 235));
    const QFontMetrics bfm(bold);
    const QString title = bfm.horizontalAdvance(t.title) > r.width() - 6 && !t.short_title.isEmpty() ? t.short_title : t.title;
    p.drawText(QRect(r.left() + 3, r.top() + l.img_h + 2, r.width() - 6, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
               bfm.elidedText(title, Qt::ElideRight, r.width() - 6));
    QFont small = font;
    small.setPointSizeF(std::max(6.0, font.pointSizeF() - 1.0));
    p.setFont(small);
    p.setPen(QColor(200, 200, 200));
    p.drawText(QRect(r.left() + 3, r.top() + l.img_h + 2 + fm.height(), r.width() - 6, fm.height()),
               Qt::AlignLeft | Qt::AlignVCenter, QFontMetrics(small).elidedText(t.caption, Qt::ElideRight, r.width() - 6));
    p.setFont(font);
    if (t.subset != 0 && t.subset == selected) {
      p.setPen(QPen(QColor(70, 160, 255), 3));
      p.drawRect(r.adjusted(1, 1, -2, -2));
    }
  }
}
}  // namespace ablation_detail
using namespace ablation_detail;

// The thumbnails: one per subset plus the reference, clickable.
class AblationGrid : public QWidget {
 public:
  explicit AblationGrid(QWidget* parent = nullptr) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    setMinimumWidth(150);
  }
  void setTiles(std::vector<Tile> tiles, QSizeF extent) {
    tiles_ = std::move(tiles);
    extent_ = extent;
    update();
  }
  const std::vector<Tile>& tiles() const { return tiles_; }
  void setSelected(SubsetMask s) {
    selected_ = s;
    update();
  }
  std::function<void(SubsetMask)> on_click;

  QSize sizeHint() const override { return {640, 640}; }
  QSize minimumSizeHint() const override { return {150, 150}; }
  TileLayout layout() const {
    return TileLayout::fit(width(), height(), static_cast<int>(tiles_.size()), extent_, fontMetrics());
  }
  QRect tileRect(int i) const {
    return i >= 0 && i < static_cast<int>(tiles_.size()) ? layout().rect(i) : QRect();
  }
  QImage render(int width) const {
    const TileLayout l = TileLayout::columns(width, 4, extent_, fontMetrics());
    QImage img(width, std::max(1, l.height(static_cast<int>(tiles_.size()))), QImage::Format_RGB32);
    img.fill(QColor(45, 45, 48));
    QPainter p(&img);
    paint_tiles(p, tiles_, l, 0, font());
    return img;
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.fillRect(rect(), QColor(45, 45, 48));
    if (tiles_.empty()) {
      p.setPen(QColor(210, 210, 210));
      p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, empty_text);
      return;
    }
    paint_tiles(p, tiles_, layout(), selected_, font());
  }
  void mousePressEvent(QMouseEvent* e) override {
    const TileLayout l = layout();
    for (std::size_t i = 0; i < tiles_.size(); ++i)
      if (l.rect(static_cast<int>(i)).contains(e->position().toPoint())) {
        if (on_click) on_click(tiles_[i].subset);
        return;
      }
  }

 public:
  QString empty_text = QStringLiteral("Load a case and a model, then press Compute.");

 private:
  std::vector<Tile> tiles_;
  QSizeF extent_{1, 1};
  SubsetMask selected_ = 0;
};

// One subset large; the mouse wheel moves the slice.
class SliceView : public QWidget {
 public:
  explicit SliceView(QWidget* parent = nullptr) : QWidget(parent) { setMinimumSize(160, 160); }
  void setTile(const Tile& t, QSizeF extent) {
    tile_ = t;
    extent_ = extent;
    update();
  }
  std::function<void(int)> on_wheel;
  QSize sizeHint() const override { return {360, 380}; }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.fillRect(rect(), QColor(24, 24, 24));
    const QFontMetrics fm(font());
    const int text_h = fm.height() * 2 + 8;
    if (tile_.image.isNull()) {
      p.setPen(QColor(200, 200, 200));
      p.drawText(rect(), Qt::AlignCenter, QStringLiteral("click a thumbnail"));
      return;
    }
    const QSizeF avail(width(), std::max(10, height() - text_h));
    QSizeF s = extent_;
    s.scale(avail, Qt::KeepAspectRatio);
    const QRectF r((width() - s.width()) / 2, 0, s.width(), s.height());
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    p.drawImage(r, tile_.image);
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(QColor(235, 235, 235));
    p.drawText(QRect(4, static_cast<int>(r.bottom()) + 4, width() - 8, fm.height()), Qt::AlignLeft, tile_.title);
    p.setFont(font());
    p.drawText(QRect(4, static_cast<int>(r.bottom()) + 4 + fm.height(), width() - 8, fm.height()), Qt::AlignLeft,
               tile_.caption);
  }
  void wheelEvent(QWheelEvent* e) override {
    if (on_wheel) on_wheel(e->angleDelta().y() > 0 ? 1 : -1);
  }

 private:
  Tile tile_;
  QSizeF extent_{1, 1};
};

// ---------------------------------------------------------------------------------------------------

AblationPanel::AblationPanel(QWidget* parent) : QWidget(parent) {
  run_ = new AblationRun(this);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(2, 2, 2, 2);
  auto* bar1 = new QHBoxLayout;
  run_btn_ = new QPushButton(QStringLiteral("Compute"));
  run_btn_->setToolTip(QStringLiteral("Segment the case with every subset of its modalities (encode once)"));
  cancel_btn_ = new QPushButton(QStringLiteral("Cancel"));
  auto_box_ = new QCheckBox(QStringLiteral("auto"));
  auto_box_->setToolTip(QStringLiteral("Compute whenever the case or the model changes"));
  bar_ = new QProgressBar;
  bar_->setRange(0, 1000);
  bar_->setValue(0);
  bar_->setTextVisible(true);
  bar_->setFormat(QString());
  csv_btn_ = new QPushButton(QStringLiteral("CSV\u2026"));
  csv_btn_->setToolTip(QStringLiteral("Export the table as CSV"));
  png_btn_ = new QPushButton(QStringLiteral("PNG\u2026"));
  png_btn_->setToolTip(QStringLiteral("Export the thumbnail grid as PNG"));
  bar1->addWidget(run_btn_);
  bar1->addWidget(cancel_btn_);
  bar1->addWidget(auto_box_);
  bar1->addWidget(bar_, 1);
  bar1->addWidget(csv_btn_);
  bar1->addWidget(png_btn_);
  v->addLayout(bar1);

  auto* bar2 = new QHBoxLayout;
  axis_box_ = new QComboBox;
  axis_box_->addItem(QStringLiteral("Axial"), kAxial);
  axis_box_->addItem(QStringLiteral("Coronal"), kCoronal);
  axis_box_->addItem(QStringLiteral("Sagittal"), kSagittal);
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setRange(0, 0);
  slice_spin_ = new QSpinBox;
  slice_spin_->setRange(1, 1);
  slice_spin_->setPrefix(QStringLiteral("slice "));
  info_ = new QLabel;
  info_->setWordWrap(true);
  bar2->addWidget(axis_box_);
  bar2->addWidget(slider_, 1);
  bar2->addWidget(slice_spin_);
  v->addLayout(bar2);
  v->addWidget(info_);

  grid_ = new AblationGrid;
  grid_->setObjectName(QStringLiteral("ablationGrid"));
  large_ = new SliceView;
  auto* top = new QSplitter(Qt::Horizontal);
  top_split_ = top;
  top->addWidget(grid_);
  top->addWidget(large_);
  top->setStretchFactor(0, 3);
  top->setStretchFactor(1, 2);

  table_ = new QTableWidget;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->setVisible(false);
  table_->setColumnCount(static_cast<int>(tableHeaders().size()));
  table_->setHorizontalHeaderLabels(tableHeaders());
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  chart_ = new QChartView;
  chart_->setRenderHint(QPainter::Antialiasing);
  chart_->setMinimumHeight(340);
  chart_mode_ = new QComboBox;
  chart_mode_->addItem(QStringLiteral("Dice per region"));
  chart_mode_->addItem(QStringLiteral("Volume per region (mL)"));
  auto* tabs = new QTabWidget;
  tabs->addTab(chart_, QStringLiteral("Chart"));
  tabs->setCornerWidget(chart_mode_, Qt::TopRightCorner);
  tabs->addTab(table_, QStringLiteral("Table"));
  dep_label_ = new QLabel;
  dep_label_->setWordWrap(true);
  dep_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* bottom = new QWidget;
  auto* bv = new QVBoxLayout(bottom);
  bv->setContentsMargins(0, 0, 0, 0);
  bv->addWidget(dep_label_);
  bv->addWidget(tabs, 1);

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(top);
  split->addWidget(bottom);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  v->addWidget(split, 1);

  connect(run_btn_, &QPushButton::clicked, this, [this] { run(); });
  connect(cancel_btn_, &QPushButton::clicked, this, &AblationPanel::cancel);
  connect(auto_box_, &QCheckBox::toggled, this, &AblationPanel::setAutoRun);
  connect(csv_btn_, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, QStringLiteral("Export ablation table"),
                                                   QStringLiteral("ablation.csv"), QStringLiteral("CSV (*.csv)"));
    if (!p.isEmpty()) exportCsv(p);
  });
  connect(png_btn_, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, QStringLiteral("Export thumbnail grid"),
                                                   QStringLiteral("ablation_grid.png"), QStringLiteral("PNG (*.png)"));
    if (!p.isEmpty()) exportGridPng(p);
  });
  connect(axis_box_, &QComboBox::currentIndexChanged, this, [this] {
    axis_ = axis_box_->currentData().toInt();
    const LabelMap* ref = nullptr;
    if (run_->result()) {
      if (const auto* e = find_entry(*run_->result(), run_->result()->reference_subset)) ref = &e->labels;
      if (run_->currentCase() && run_->currentCase()->seg) ref = &*run_->currentCase()->seg;
    } else if (run_->currentCase() && run_->currentCase()->seg) {
      ref = &*run_->currentCase()->seg;
    }
    index_ = ref ? tumour_slice(*ref, axis_) : (run_->currentCase() ? slice_count(run_->currentCase()->geom, axis_) / 2 : 0);
    refreshImages();
    emitSlice();
  });
  connect(slider_, &QSlider::valueChanged, this, [this](int v) {
    if (v == index_) return;
    index_ = v;
    refreshImages();
    emitSlice();
  });
  // The spin box counts from 1, as the main views' "Axial 91 / 155" does; the slider and index_ from 0.
  connect(slice_spin_, &QSpinBox::valueChanged, slider_, [this](int v) { slider_->setValue(v - 1); });
  connect(chart_mode_, &QComboBox::currentIndexChanged, this, &AblationPanel::refreshChart);
  connect(table_, &QTableWidget::cellClicked, this, [this](int row, int) {
    const auto* item = table_->item(row, 0);
    if (item) setSelectedSubset(static_cast<SubsetMask>(item->data(Qt::UserRole).toInt()));
  });
  grid_->on_click = [this](SubsetMask s) {
    if (s == 0) return;
    setSelectedSubset(s);
    Q_EMIT subsetChosen(s);
  };
  large_->on_wheel = [this](int d) {
    if (!run_->currentCase()) return;
    slider_->setValue(std::clamp(index_ + d, 0, slice_count(run_->currentCase()->geom, axis_) - 1));
  };
  connect(run_, &AblationRun::started, this, &AblationPanel::onStarted);
  connect(run_, &AblationRun::finished, this, &AblationPanel::onFinished);
  connect(run_, &AblationRun::resultCleared, this, &AblationPanel::onResultCleared);
  connect(run_, &AblationRun::runningChanged, this, &AblationPanel::updateControls);
  connect(run_, &AblationRun::progress, this, [this](double f, const QString& stage) {
    bar_->setValue(static_cast<int>(std::clamp(f, 0.0, 1.0) * 1000));
    bar_->setFormat(QStringLiteral("%1 %p%").arg(stage));
    Q_EMIT progress(f, stage);
  });
  updateControls();
}

void AblationPanel::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  // Narrow (a side panel): the large view goes under the thumbnails.
  const Qt::Orientation o = width() < 760 ? Qt::Vertical : Qt::Horizontal;
  if (top_split_->orientation() != o) top_split_->setOrientation(o);
}

// The job, a child, cancels a running ablation and waits for it when it is destroyed.
AblationPanel::~AblationPanel() = default;

QStringList AblationPanel::tableHeaders() const {
  return {QStringLiteral("Subset"),  QStringLiteral("n"),       QStringLiteral("Dice WT"), QStringLiteral("Dice TC"),
          QStringLiteral("Dice ET"), QStringLiteral("HD95 WT"), QStringLiteral("HD95 TC"), QStringLiteral("HD95 ET"),
          QStringLiteral("WT mL"),   QStringLiteral("TC mL"),   QStringLiteral("ET mL"),
          QStringLiteral("Exp. WT"), QStringLiteral("Exp. TC"), QStringLiteral("Exp. ET")};
}

void AblationPanel::setCase(const io::Case& c) { setCase(std::make_shared<const io::Case>(c)); }

void AblationPanel::setCase(std::shared_ptr<const io::Case> c) {
  background_ = c ? background_modality(c->present()) : -1;
  window_ = background_ >= 0 ? grey_window(*c->images[static_cast<std::size_t>(background_)]) : viz::WindowLevel{};
  if (c && !slice_from_view_) index_ = c->seg ? tumour_slice(*c->seg, axis_) : slice_count(c->geom, axis_) / 2;
  if (c) index_ = std::clamp(index_, 0, slice_count(c->geom, axis_) - 1);
  run_->setCase(std::move(c));  // an automatic run starts on the next turn of the event loop, after this draw
  refreshImages();
  updateControls();
}

void AblationPanel::setModel(const pipeline::Model& m) {
  run_->setModel(m);
  refreshImages();
  updateControls();
}

void AblationPanel::setAutoRun(bool on) {
  const QSignalBlocker b(auto_box_);
  auto_box_->setChecked(on);
  run_->setAutoRun(on);
}

bool AblationPanel::isRunning() const { return run_->isRunning(); }

bool AblationPanel::run() {
  const bool ready = run_->currentCase() && run_->model();
  const bool started = run_->run();
  if (!ready) info_->setText(run_->lastError());
  return started;
}

void AblationPanel::cancel() { run_->cancel(); }

bool AblationPanel::runBlocking() { return run_->runBlocking(); }

void AblationPanel::onStarted() {
  bar_->setValue(0);
  bar_->setFormat(QStringLiteral("starting\u2026"));
  updateControls();
}

void AblationPanel::onFinished(bool ok) {
  const auto& result = run_->result();
  const auto& c = run_->currentCase();
  if (ok) {
    if (!slice_from_view_ && c && !c->seg) {
      if (const auto* e = find_entry(*result, result->reference_subset)) index_ = tumour_slice(e->labels, axis_);
    }
    if (!selected_ || !find_entry(*result, selected_)) selected_ = result->reference_subset;
    bar_->setValue(1000);
    bar_->setFormat(QStringLiteral("done"));
  } else {
    bar_->setValue(0);
    bar_->setFormat(run_->lastError() == QStringLiteral("cancelled") ? QStringLiteral("cancelled")
                                                                     : QStringLiteral("failed"));
  }
  refreshImages();
  refreshTable();
  refreshChart();
  updateControls();
  Q_EMIT finished(ok);
}

void AblationPanel::onResultCleared() {
  selected_ = 0;
  refreshTable();
  refreshChart();
}

void AblationPanel::setSlice(int axis, int index) {
  slice_from_view_ = true;
  axis_ = std::clamp(axis, 0, 2);
  index_ = run_->currentCase() ? std::clamp(index, 0, slice_count(run_->currentCase()->geom, axis_) - 1) : std::max(0, index);
  refreshImages();
}

void AblationPanel::emitSlice() { Q_EMIT sliceChosen(axis_, index_); }

void AblationPanel::setSelectedSubset(SubsetMask s) {
  selected_ = s;
  grid_->setSelected(s);
  refreshImages();
  for (int r = 0; r < table_->rowCount(); ++r) {
    const auto* it = table_->item(r, 0);
    if (it && it->data(Qt::UserRole).toInt() == s) {
      const QSignalBlocker b(table_);
      table_->selectRow(r);
    }
  }
}

std::vector<RegionDependence> AblationPanel::dependence() const {
  return run_->result() ? region_dependence(*run_->result()) : std::vector<RegionDependence>{};
}

void AblationPanel::refreshImages() {
  {
    const QSignalBlocker b1(slider_), b2(slice_spin_), b3(axis_box_);
    const int n = run_->currentCase() ? slice_count(run_->currentCase()->geom, axis_) : 1;
    slider_->setRange(0, std::max(0, n - 1));
    slice_spin_->setRange(1, std::max(1, n));
    slice_spin_->setSuffix(QStringLiteral(" / %1").arg(n));
    slider_->setValue(index_);
    slice_spin_->setValue(index_ + 1);
    axis_box_->setCurrentIndex(axis_box_->findData(axis_));
  }
  if (!run_->currentCase()) {
    grid_->empty_text = QStringLiteral("No case loaded.");
    grid_->setTiles({}, {1, 1});
    large_->setTile({}, {1, 1});
    return;
  }
  const Geometry& g = run_->currentCase()->geom;
  const Image* bg = background_ >= 0 ? &*run_->currentCase()->images[static_cast<std::size_t>(background_)] : nullptr;
  const QSizeF extent = slice_extent_mm(g, axis_);
  const QString bg_name = background_ >= 0 ? QString::fromStdString(std::string(modality_display(background_)))
                                           : QStringLiteral("none");
  std::vector<Tile> tiles;
  Tile ref;
  ref.subset = 0;
  if (run_->currentCase()->seg) {
    ref.image = render_slice(g, bg, window_, &*run_->currentCase()->seg, axis_, index_);
    ref.title = QStringLiteral("Ground truth");
    ref.short_title = QStringLiteral("Truth");
  } else if (run_->result()) {
    const auto* e = find_entry(*run_->result(), run_->result()->reference_subset);
    ref.image = render_slice(g, bg, window_, e ? &e->labels : nullptr, axis_, index_);
    ref.title = QStringLiteral("Reference: all present");
    ref.short_title = QStringLiteral("Reference");
  } else {
    ref.image = render_slice(g, bg, window_, nullptr, axis_, index_);
    ref.title = QStringLiteral("%1 (no seg)").arg(bg_name);
  }
  ref.caption = QStringLiteral("%1 %2 \u00b7 background %3").arg(axis_name(axis_)).arg(index_ + 1).arg(bg_name);
  tiles.push_back(ref);
  Tile large_tile = ref;
  if (run_->result()) {
    for (const auto& e : run_->result()->entries) {
      Tile t;
      t.subset = e.subset;
      t.image = render_slice(g, bg, window_, &e.labels, axis_, index_);
      t.title = QString::fromStdString(subset_name(e.subset));
      t.short_title = short_subset_name(subset_name(e.subset));
      t.caption = QStringLiteral("WT %1 TC %2 ET %3").arg(dice_short(e.dice[0]), dice_short(e.dice[1]), dice_short(e.dice[2]));
      if (e.subset == selected_) large_tile = t;
      tiles.push_back(std::move(t));
    }
  }
  grid_->empty_text.clear();
  grid_->setTiles(std::move(tiles), extent);
  grid_->setSelected(selected_);
  if (run_->result() && large_tile.subset != 0) {
    const auto* e = find_entry(*run_->result(), large_tile.subset);
    large_tile.caption = QStringLiteral("Dice WT %1 TC %2 ET %3 \u00b7 %4 mL WT")
                             .arg(dice_text(e->dice[0]), dice_text(e->dice[1]), dice_text(e->dice[2]))
                             .arg(e->region_ml[0], 0, 'f', 1);
  }
  large_->setTile(large_tile, extent);
}

void AblationPanel::refreshTable() {
  table_->setRowCount(0);
  if (!run_->result()) {
    dep_label_->clear();
    return;
  }
  const auto& a = *run_->result();
  table_->setRowCount(static_cast<int>(a.entries.size()));
  for (int r = 0; r < static_cast<int>(a.entries.size()); ++r) {
    const auto& e = a.entries[static_cast<std::size_t>(r)];
    auto* name = new QTableWidgetItem(QString::fromStdString(subset_name(e.subset)));
    name->setData(Qt::UserRole, static_cast<int>(e.subset));
    name->setForeground(subset_color(subset_name(e.subset)));
    if (e.subset == a.reference_subset) {
      QFont f = name->font();
      f.setBold(true);
      name->setFont(f);
    }
    table_->setItem(r, 0, name);
    table_->setItem(r, 1, new QTableWidgetItem(QString::number(subset_size(e.subset))));
    for (int k = 0; k < 3; ++k) {
      auto* d = new QTableWidgetItem(QString::number(e.dice[static_cast<std::size_t>(k)], 'f', 4));
      const double v = std::clamp(e.dice[static_cast<std::size_t>(k)], 0.0, 1.0);
      d->setBackground(QColor(static_cast<int>(255 - 80 * v), static_cast<int>(200 + 55 * v), static_cast<int>(200 + 10 * v)));
      d->setForeground(Qt::black);
      table_->setItem(r, 2 + k, d);
      table_->setItem(r, 5 + k, new QTableWidgetItem(QString::number(e.hd95[static_cast<std::size_t>(k)], 'f', 2)));
      table_->setItem(r, 8 + k, new QTableWidgetItem(QString::number(e.region_ml[static_cast<std::size_t>(k)], 'f', 2)));
    }
    // Expected Dice of this subset on the model's held-out cases (model.json): what the table can say without a
    // ground truth. "n/e": not evaluated (no table, or no row for the subset), never a made-up number.
    const pipeline::SubsetAccuracy* expected = nullptr;
    int held_out = 0;
    if (run_->model() && run_->model()->accuracy()) {
      const auto& table = *run_->model()->accuracy();
      if (const auto it = table.subsets.find(e.subset); it != table.subsets.end()) expected = &it->second;
      held_out = table.cases;
    }
    for (int k = 0; k < 3; ++k) {
      auto* x = new QTableWidgetItem(expected ? QString::number(expected->dice[static_cast<std::size_t>(k)], 'f', 2)
                                              : QStringLiteral("n/e"));
      x->setToolTip(expected ? QStringLiteral("Mean Dice of %1 on the model's %2 held-out cases")
                                   .arg(QString::fromStdString(subset_name(e.subset)))
                                   .arg(held_out)
                             : QStringLiteral("Not evaluated: the model carries no accuracy for this subset"));
      table_->setItem(r, 11 + k, x);
    }
    for (int k = 1; k < table_->columnCount(); ++k) table_->item(r, k)->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  }
  QStringList lines;
  lines << (a.against_truth ? QStringLiteral("Dice against the ground truth (the case's seg).")
                            : QStringLiteral("No seg file: Dice against the prediction from all present modalities (%1); "
                                             "Exp.: the Dice each subset gets on the model's held-out cases.")
                                  .arg(QString::fromStdString(subset_name(a.reference_subset))));
  for (const auto& d : region_dependence(a)) lines << QString::fromStdString(d.text);
  dep_label_->setText(lines.join(QStringLiteral("\n")));
}

void AblationPanel::refreshChart() {
  auto* chart = new QChart;
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->legend()->setAlignment(Qt::AlignRight);
  QFont small = font();
  small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.0));
  chart->legend()->setFont(small);
  chart->setMargins(QMargins(2, 2, 2, 2));
  const bool volume = chart_mode_->currentIndex() == 1;
  if (run_->result()) {
    // Horizontal bars: the subset names stay readable on the category axis.
    auto* series = new QHorizontalBarSeries;
    QStringList cats;
    double ymax = 0.0;
    for (int k = 0; k < 3; ++k) {
      auto* set = new QBarSet(QString::fromLatin1(region_name(k)));
      set->setColor(region_color(k));
      set->setBorderColor(region_color(k).darker(130));
      // Last entry at the top: the categories run bottom-up.
      for (auto it = run_->result()->entries.rbegin(); it != run_->result()->entries.rend(); ++it) {
        const double v = volume ? it->region_ml[static_cast<std::size_t>(k)] : it->dice[static_cast<std::size_t>(k)];
        *set << v;
        ymax = std::max(ymax, v);
      }
      series->append(set);
    }
    for (auto it = run_->result()->entries.rbegin(); it != run_->result()->entries.rend(); ++it)
      cats << short_subset_name(subset_name(it->subset));
    series->setBarWidth(0.85);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setLabelsFont(small);
    x->setTruncateLabels(false);
    auto* y = new QValueAxis;
    y->setRange(0.0, volume ? std::max(1e-3, ymax * 1.08) : 1.0);
    y->setLabelsFont(small);
    y->setTitleFont(small);
    y->setLabelFormat(volume ? QStringLiteral("%.1f") : QStringLiteral("%.1f"));
    y->setTickCount(volume ? 5 : 6);
    chart->addAxis(x, Qt::AlignLeft);
    chart->addAxis(y, Qt::AlignBottom);
    series->attachAxis(x);
    series->attachAxis(y);
    y->setTitleText(volume ? QStringLiteral("region volume (mL)")
                           : (run_->result()->against_truth ? QStringLiteral("Dice vs ground truth")
                                                     : QStringLiteral("Dice vs all-present prediction")));
  } else {
    chart->setTitle(QStringLiteral("No ablation yet"));
    chart->legend()->setVisible(false);
  }
  QChart* old = chart_->chart();
  chart_->setChart(chart);
  delete old;
}

void AblationPanel::updateControls() {
  const bool running = isRunning();
  const auto& c = run_->currentCase();
  const auto& model = run_->model();
  run_btn_->setEnabled(c && model && !running);
  cancel_btn_->setEnabled(running);
  csv_btn_->setEnabled(run_->result() != nullptr);
  png_btn_->setEnabled(c != nullptr);
  QString t;
  if (!c)
    t = QStringLiteral("No case loaded.");
  else {
    t = QStringLiteral("Case %1: %2").arg(QString::fromStdString(c->id), QString::fromStdString(subset_name(c->present())));
    t += c->seg ? QStringLiteral(", with seg") : QStringLiteral(", no seg");
    if (!model) t += QStringLiteral(" \u00b7 no model loaded");
    else {
      const SubsetMask usable = c->present() & model->modalities();
      t += QStringLiteral(" \u00b7 %1 subsets").arg(subsets_within(usable).size());
    }
  }
  const QString error = run_->lastError();
  if (!error.isEmpty() && error != QStringLiteral("cancelled")) t += QStringLiteral(" \u00b7 error: ") + error;
  info_->setText(t);
}

QString AblationPanel::csv() const {
  return run_->result() ? QString::fromStdString(pipeline::ablation_csv(*run_->result())) : QString();
}

bool AblationPanel::exportCsv(const QString& path, QString* error) {
  if (!run_->result()) {
    if (error) *error = QStringLiteral("no ablation to export");
    return false;
  }
  return save_text(path, pipeline::ablation_csv(*run_->result()), error);
}

QWidget* AblationPanel::gridWidget() const { return grid_; }
QRect AblationPanel::thumbnailRect(int i) const { return grid_->tileRect(i); }

QImage AblationPanel::gridImage() const { return grid_->render(std::max(4 * 170, grid_->width())); }

bool AblationPanel::exportGridPng(const QString& path, QString* error) {
  const QImage img = gridImage();
  QSaveFile f(path);
  if (img.isNull() || !f.open(QIODevice::WriteOnly) || !img.save(&f, "PNG") || !f.commit()) {
    if (error) *error = QStringLiteral("cannot write %1").arg(path);
    return false;
  }
  return true;
}

}  // namespace gmd::panels
