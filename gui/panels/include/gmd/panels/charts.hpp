#pragma once
// Chart widgets of the training panel and gmd-plot: a line chart of named series (Qt Charts) that
// updates in place, a k x k cosine heat map, the six standard figures built from a MetricsLog, and
// PNG/SVG/CSV export (written atomically through QSaveFile).
#include <QChartView>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmd/panels/metrics.hpp"

QT_BEGIN_NAMESPACE
class QLineSeries;
class QAbstractAxis;
QT_END_NAMESPACE

namespace gmd::panels {

struct SeriesStyle {
  QColor color;
  double width = 1.5;
  Qt::PenStyle pen = Qt::SolidLine;
  bool markers = false;  // draw point markers (sparse series such as validation Dice)
};
using StyleFn = std::function<SeriesStyle(const std::string& name)>;

// A line chart of named series with a step x axis. setSeries() keeps one QLineSeries per name and
// replaces its points (no flicker, cheap for live updates); the legend follows the given order.
class SeriesChart : public QChartView {
  Q_OBJECT
 public:
  explicit SeriesChart(QWidget* parent = nullptr);

  void setTitles(const QString& title, const QString& x_title, const QString& y_title);
  void setLogY(bool on);  // log10 y axis; points with y <= 0 are not drawn
  bool logY() const { return log_y_; }
  void setFixedYRange(double lo, double hi);  // NaN, NaN = automatic
  void setReferenceLine(double y, const QString& label);  // a dashed grey line (not data); NaN = none
  void setEmptyText(const QString& text);  // shown in the title when there is no point
  void setMaxPointsPerSeries(std::size_t n) { max_points_ = n; }
  // Hide the legend when there are more than n series (e.g. 105 subset pairs).
  void setLegendLimit(int n) { legend_limit_ = n; }

  void setSeries(std::vector<Series> series, const StyleFn& style);
  const std::vector<Series>& data() const { return data_; }  // as given (before decimation)
  QStringList seriesNames() const;
  std::size_t pointCount() const;  // points currently drawn
  QString title() const { return title_; }
  // Hides a line (its legend entry stays, dimmed); also toggled by clicking the legend entry.
  void setSeriesHidden(const std::string& name, bool hidden);
  bool isSeriesHidden(const std::string& name) const { return hidden_.count(name) > 0; }

 private:
  void applyHidden(const std::string& name);
  void rebuildAxes();
  void updateRanges();

  QString title_, empty_text_;
  bool log_y_ = false;
  double fixed_lo_, fixed_hi_;
  double ref_y_;
  QString ref_label_;
  std::size_t max_points_ = 3000;
  int legend_limit_ = 20;
  std::vector<Series> data_;
  std::vector<std::string> order_;
  std::map<std::string, QLineSeries*> lines_;
  std::set<std::string> hidden_;
  QLineSeries* ref_line_ = nullptr;
  QAbstractAxis* x_axis_ = nullptr;
  QAbstractAxis* y_axis_ = nullptr;
  QString x_title_, y_title_;
};

// The k x k matrix of pairwise cosines between subset gradients of one step: blue (-1, opposite) to
// white (0, orthogonal) to red (+1, aligned), values in the cells, subset names on both axes.
class CosHeatmap : public QWidget {
  Q_OBJECT
 public:
  explicit CosHeatmap(QWidget* parent = nullptr);
  void setMatrix(const CosMatrix& m, bool after = false);
  const CosMatrix& matrix() const { return m_; }
  bool showsAfter() const { return after_; }
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;
  // Colour of a cosine on the diverging scale.
  static QColor colorFor(double cos);

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  CosMatrix m_;
  bool after_ = false;
};

// ---- the standard figures ------------------------------------------------------------------------

enum class Figure { Loss, ValDice, ConflictAngles, ConflictFraction, GradNorms, GmdWeights };
struct FigureOptions {
  double smoothing = 1.0;       // steps; trailing mean for loss, angles, conflict fraction, norms
  double weight_window = 100.0; // steps; trailing mean of the GMD weights (paper Figure 4)
  bool log_loss = false;
  bool log_norms = true;
  bool angles_per_pair = false; // per pair instead of min/mean/max
  bool angles_after = true;     // also draw the angles after GMD's projection
};
const std::vector<Figure>& all_figures();
// File stem used by gmd-plot and "Export all": loss, val_dice, conflict_angles, conflict_fraction,
// fig3_grad_norms, fig4_gmd_weights.
const char* figure_stem(Figure f);
QString figure_title(Figure f);
// Fills (or refreshes) `chart` with figure `f` of `log`.
void show_figure(SeriesChart& chart, Figure f, const MetricsLog& log, const FigureOptions& o);
// The figure's data as CSV: the raw series, plus the smoothed ones when the figure is smoothed; the
// angle figure has min/mean/max and every pair, before and after GMD.
std::string figure_csv(Figure f, const MetricsLog& log, const FigureOptions& o);

// ---- export --------------------------------------------------------------------------------------
// Renders a widget (laid out at its current size) to an image. Works under QT_QPA_PLATFORM=offscreen.
QImage render_widget(QWidget* w);
// PNG / SVG of a widget and text files, written atomically; false + *error on failure.
bool save_png(QWidget* w, const QString& path, QString* error = nullptr);
bool save_svg(QWidget* w, const QString& path, const QString& title, QString* error = nullptr);
bool save_text(const QString& path, const std::string& text, QString* error = nullptr);
// Writes DIR/<stem>.png, .svg and .csv for every figure (charts sized `size`); returns the files
// written. Used by gmd-plot and the panel's "Export all".
QStringList export_figures(const MetricsLog& log, const FigureOptions& o, const QString& dir, QSize size,
                           QString* error = nullptr);

}  // namespace gmd::panels
