// Chart widgets, the standard figures and their export (see charts.hpp).
#include "gmd/panels/charts.hpp"

#include <QApplication>
#include <QBuffer>
#include <QChart>
#include <QDir>
#include <QFontMetrics>
#include <QLayout>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "gmd/common/regions.hpp"
#include "gmd/panels/style.hpp"

namespace gmd::panels {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QFont small_font(int delta = 0) {
  QFont f = QApplication::font();
  f.setPointSizeF(std::max(6.0, f.pointSizeF() - 1.0 + delta));
  return f;
}
}  // namespace

// ---- SeriesChart ----------------------------------------------------------------------------------

SeriesChart::SeriesChart(QWidget* parent) : QChartView(parent), fixed_lo_(kNaN), fixed_hi_(kNaN), ref_y_(kNaN) {
  auto* c = new QChart();
  c->setAnimationOptions(QChart::NoAnimation);
  c->legend()->setAlignment(Qt::AlignRight);
  c->legend()->setFont(small_font());
  c->setMargins(QMargins(4, 4, 4, 4));
  QFont tf = small_font(2);
  tf.setBold(true);
  c->setTitleFont(tf);
  setChart(c);
  setRenderHint(QPainter::Antialiasing);
  setMinimumSize(240, 200);
  rebuildAxes();
}

void SeriesChart::setTitles(const QString& title, const QString& x_title, const QString& y_title) {
  title_ = title;
  x_title_ = x_title;
  y_title_ = y_title;
  if (x_axis_) x_axis_->setTitleText(x_title);
  if (y_axis_) y_axis_->setTitleText(y_title);
  updateRanges();
}

void SeriesChart::setLogY(bool on) {
  if (on == log_y_) return;
  log_y_ = on;
  // Re-filter the points for the new axis type first (a log axis cannot take y <= 0).
  for (const auto& s : data_) {
    auto it = lines_.find(s.name);
    if (it == lines_.end()) continue;
    QList<QPointF> pts;
    for (const auto& p : decimate(s.points, max_points_))
      if (!log_y_ || p.y > 0) pts.append(QPointF(p.x, p.y));
    it->second->replace(pts);
  }
  rebuildAxes();
  updateRanges();
}

void SeriesChart::setFixedYRange(double lo, double hi) {
  fixed_lo_ = lo;
  fixed_hi_ = hi;
  updateRanges();
}

void SeriesChart::setReferenceLine(double y, const QString& label) {
  ref_y_ = y;
  ref_label_ = label;
  if (std::isnan(y) && ref_line_) {
    chart()->removeSeries(ref_line_);
    delete ref_line_;
    ref_line_ = nullptr;
  } else if (!std::isnan(y) && !ref_line_) {
    ref_line_ = new QLineSeries();
    QPen pen(QColor(120, 120, 120));
    pen.setStyle(Qt::DashLine);
    pen.setWidthF(1.0);
    ref_line_->setPen(pen);
    chart()->addSeries(ref_line_);
    ref_line_->attachAxis(x_axis_);
    ref_line_->attachAxis(y_axis_);
  }
  if (ref_line_) {
    ref_line_->setName(label);
    for (auto* m : chart()->legend()->markers(ref_line_)) m->setVisible(!label.isEmpty());
  }
  updateRanges();
}

void SeriesChart::setEmptyText(const QString& text) {
  empty_text_ = text;
  updateRanges();
}

void SeriesChart::rebuildAxes() {
  QChart* c = chart();
  std::vector<QAbstractSeries*> all;
  for (auto& kv : lines_) all.push_back(kv.second);
  if (ref_line_) all.push_back(ref_line_);
  if (x_axis_) {
    c->removeAxis(x_axis_);
    delete x_axis_;
  }
  if (y_axis_) {
    c->removeAxis(y_axis_);
    delete y_axis_;
  }
  auto* x = new QValueAxis();
  x->setLabelFormat("%.0f");
  x->setTitleText(x_title_);
  x->setLabelsFont(small_font());
  x->setTitleFont(small_font());
  x_axis_ = x;
  if (log_y_) {
    auto* y = new QLogValueAxis();
    y->setBase(10.0);
    y->setLabelFormat("%g");
    y->setMinorTickCount(8);
    y_axis_ = y;
  } else {
    auto* y = new QValueAxis();
    y->setLabelFormat("%.3g");
    y_axis_ = y;
  }
  y_axis_->setTitleText(y_title_);
  y_axis_->setLabelsFont(small_font());
  y_axis_->setTitleFont(small_font());
  c->addAxis(x_axis_, Qt::AlignBottom);
  c->addAxis(y_axis_, Qt::AlignLeft);
  for (auto* s : all) {
    s->attachAxis(x_axis_);
    s->attachAxis(y_axis_);
  }
}

void SeriesChart::setSeries(std::vector<Series> series, const StyleFn& style) {
  QChart* c = chart();
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  if (names != order_) {
    // Names changed (a subset seen for the first time): rebuild so that the legend keeps the order.
    for (auto& kv : lines_) {
      c->removeSeries(kv.second);
      delete kv.second;
    }
    lines_.clear();
    for (const auto& n : names) {
      auto* l = new QLineSeries();
      l->setName(QString::fromStdString(n));
      c->addSeries(l);
      l->attachAxis(x_axis_);
      l->attachAxis(y_axis_);
      lines_[n] = l;
      // Clicking a legend entry hides/shows its line (kept across live updates).
      for (auto* m : c->legend()->markers(l))
        connect(m, &QLegendMarker::clicked, this, [this, n] { setSeriesHidden(n, !hidden_.count(n)); });
    }
    order_ = names;
    if (ref_line_) {  // keep the reference line last in the legend
      c->removeSeries(ref_line_);
      c->addSeries(ref_line_);
      ref_line_->attachAxis(x_axis_);
      ref_line_->attachAxis(y_axis_);
      for (auto* m : c->legend()->markers(ref_line_)) m->setVisible(!ref_label_.isEmpty());
    }
  }
  for (const auto& s : series) {
    QLineSeries* l = lines_[s.name];
    const SeriesStyle st = style ? style(s.name) : SeriesStyle{subset_color(s.name)};
    QPen pen(st.color);
    pen.setWidthF(st.width);
    pen.setStyle(st.pen);
    l->setPen(pen);
    l->setColor(st.color);
    // Sparse series (a subset sampled on few steps so far) would be invisible as lines: mark points.
    const bool markers = st.markers || s.points.size() <= 12;
    l->setPointsVisible(markers);
    if (markers) l->setMarkerSize(st.markers ? 7.0 : 5.0);
    QList<QPointF> pts;
    const auto dec = decimate(s.points, max_points_);
    pts.reserve(static_cast<qsizetype>(dec.size()));
    for (const auto& p : dec)
      if (!log_y_ || p.y > 0) pts.append(QPointF(p.x, p.y));
    l->replace(pts);
  }
  data_ = std::move(series);
  for (const auto& n : order_) applyHidden(n);
  c->legend()->setVisible(static_cast<int>(data_.size()) <= legend_limit_ && data_.size() > 1);
  updateRanges();
}

void SeriesChart::setSeriesHidden(const std::string& name, bool hidden) {
  if (hidden)
    hidden_.insert(name);
  else
    hidden_.erase(name);
  applyHidden(name);
}

void SeriesChart::applyHidden(const std::string& name) {
  const auto it = lines_.find(name);
  if (it == lines_.end()) return;
  const bool hidden = hidden_.count(name) > 0;
  it->second->setVisible(!hidden);
  for (auto* m : chart()->legend()->markers(it->second)) {
    m->setVisible(true);  // a hidden series would hide its marker too
    QColor label = chart()->legend()->labelColor();
    QColor fill = it->second->color();
    if (hidden) {
      label.setAlphaF(0.35);
      fill.setAlphaF(0.2);
    }
    m->setLabelBrush(QBrush(label));
    m->setBrush(QBrush(fill));
  }
}

QStringList SeriesChart::seriesNames() const {
  QStringList out;
  for (const auto& n : order_) out << QString::fromStdString(n);
  return out;
}

std::size_t SeriesChart::pointCount() const {
  std::size_t n = 0;
  for (const auto& kv : lines_) n += static_cast<std::size_t>(kv.second->count());
  return n;
}

void SeriesChart::updateRanges() {
  double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
  std::size_t n = 0;
  for (const auto& s : data_)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.y) || (log_y_ && p.y <= 0)) continue;
      xlo = std::min(xlo, p.x);
      xhi = std::max(xhi, p.x);
      ylo = std::min(ylo, p.y);
      yhi = std::max(yhi, p.y);
      ++n;
    }
  chart()->setTitle(n == 0 && !empty_text_.isEmpty() ? title_ + QStringLiteral(" \u2014 ") + empty_text_ : title_);
  if (n == 0) {
    xlo = 0;
    xhi = 1;
    ylo = log_y_ ? 0.1 : 0;
    yhi = 1;
  }
  if (xhi <= xlo) {
    xlo -= 1;
    xhi += 1;
  }
  if (!std::isnan(ref_y_) && !log_y_) {
    ylo = std::min(ylo, ref_y_);
    yhi = std::max(yhi, ref_y_);
  }
  if (!std::isnan(fixed_lo_)) ylo = fixed_lo_;
  if (!std::isnan(fixed_hi_)) yhi = fixed_hi_;
  if (log_y_) {
    // Whole decades, slightly widened so that the end labels are not lost to rounding.
    ylo = std::pow(10.0, std::floor(std::log10(ylo) + 1e-9));
    yhi = std::pow(10.0, std::ceil(std::log10(yhi) - 1e-9));
    if (yhi <= ylo) yhi = ylo * 10.0;
    ylo *= 0.999;
    yhi *= 1.001;
  } else if (yhi <= ylo) {
    const double d = std::max(1e-6, std::fabs(ylo) * 0.1);
    ylo -= d;
    yhi += d;
  } else if (std::isnan(fixed_lo_) || std::isnan(fixed_hi_)) {
    const double pad = (yhi - ylo) * 0.05;
    if (std::isnan(fixed_lo_)) ylo -= pad;
    if (std::isnan(fixed_hi_)) yhi += pad;
  }
  auto* x = static_cast<QValueAxis*>(x_axis_);
  x->setRange(xlo, xhi);
  if (xhi - xlo >= 4) x->applyNiceNumbers();
  if (xhi - xlo < 8) {
    x->setTickCount(static_cast<int>(std::lround(xhi - xlo)) + 1);
  } else {
    x->setTickCount(6);
  }
  y_axis_->setRange(ylo, yhi);
  if (!log_y_ && std::isnan(fixed_lo_) && std::isnan(fixed_hi_)) static_cast<QValueAxis*>(y_axis_)->applyNiceNumbers();
  if (ref_line_) {
    const double rx0 = static_cast<QValueAxis*>(x_axis_)->min(), rx1 = static_cast<QValueAxis*>(x_axis_)->max();
    ref_line_->replace(QList<QPointF>{QPointF(rx0, ref_y_), QPointF(rx1, ref_y_)});
  }
}

// ---- CosHeatmap -----------------------------------------------------------------------------------

CosHeatmap::CosHeatmap(QWidget* parent) : QWidget(parent) {
  setAutoFillBackground(true);
  QPalette p = palette();
  p.setColor(QPalette::Window, Qt::white);
  setPalette(p);
}

void CosHeatmap::setMatrix(const CosMatrix& m, bool after) {
  m_ = m;
  after_ = after;
  update();
}

QSize CosHeatmap::sizeHint() const { return {520, 440}; }
QSize CosHeatmap::minimumSizeHint() const { return {220, 200}; }

QColor CosHeatmap::colorFor(double c) {
  if (!std::isfinite(c)) return QColor(200, 200, 200);
  c = std::clamp(c, -1.0, 1.0);
  const QColor neg(33, 102, 172), mid(247, 247, 247), pos(178, 24, 43);
  const QColor& end = c < 0 ? neg : pos;
  const double t = std::fabs(c);
  return QColor(static_cast<int>(mid.red() + (end.red() - mid.red()) * t),
                static_cast<int>(mid.green() + (end.green() - mid.green()) * t),
                static_cast<int>(mid.blue() + (end.blue() - mid.blue()) * t));
}

void CosHeatmap::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), Qt::white);
  QFont title = small_font(2);
  title.setBold(true);
  const QFont small = small_font();
  const QFontMetrics fm(small), tfm(title);
  const auto& mat = after_ && !m_.cos_after.empty() ? m_.cos_after : m_.cos;
  const QString head = m_.names.empty()
                           ? QStringLiteral("Cosine between subset gradients \u2014 no data (ds-gmd runs only)")
                           : QStringLiteral("Cosine between subset gradients, step %1%2")
                                 .arg(m_.step)
                                 .arg(after_ && !m_.cos_after.empty() ? QStringLiteral(" (after GMD)")
                                                                      : QStringLiteral(" (before GMD)"));
  p.setFont(title);
  p.setPen(Qt::black);
  p.drawText(QRect(0, 4, width(), tfm.height()), Qt::AlignHCenter, head);
  const int k = static_cast<int>(m_.names.size());
  if (k == 0) return;
  int label_w = 0;
  auto row_label = [&](int i) {
    return QStringLiteral("%1  %2").arg(QString::fromStdString(m_.names[static_cast<std::size_t>(i)])).arg(i + 1);
  };
  for (int i = 0; i < k; ++i) label_w = std::max(label_w, fm.horizontalAdvance(row_label(i)));
  const int top = tfm.height() + 12 + fm.height();  // room for column numbers
  const int bar_w = 60;
  const int avail_w = width() - label_w - 16 - bar_w;
  const int avail_h = height() - top - 8;
  const int cell = std::clamp(std::min(avail_w, avail_h) / k, 8, 90);
  const int x0 = label_w + 10, y0 = top;
  // Column headers: numbers (1..k), the row labels say which subset each number is.
  p.setFont(small);
  for (int j = 0; j < k; ++j)
    p.drawText(QRect(x0 + j * cell, y0 - fm.height() - 2, cell, fm.height()), Qt::AlignCenter,
               QString::number(j + 1));
  for (int i = 0; i < k; ++i) {
    p.setPen(Qt::black);
    p.drawText(QRect(2, y0 + i * cell, label_w + 4, cell), Qt::AlignVCenter | Qt::AlignRight, row_label(i));
    for (int j = 0; j < k; ++j) {
      const double v = mat[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
      const QRect r(x0 + j * cell, y0 + i * cell, cell, cell);
      p.fillRect(r, colorFor(v));
      p.setPen(QColor(255, 255, 255));
      p.drawRect(r);
      if (cell >= fm.horizontalAdvance(QStringLiteral("-0.00")) + 2) {
        p.setPen(std::fabs(v) > 0.6 ? Qt::white : Qt::black);
        p.drawText(r, Qt::AlignCenter, QString::number(v, 'f', 2));
      }
    }
  }
  // Colour bar.
  const int bx = x0 + k * cell + 14, bh = k * cell;
  for (int y = 0; y < bh; ++y) {
    const double v = 1.0 - 2.0 * y / std::max(1, bh - 1);
    p.setPen(colorFor(v));
    p.drawLine(bx, y0 + y, bx + 12, y0 + y);
  }
  p.setPen(Qt::black);
  p.drawRect(bx, y0, 12, bh);
  p.drawText(bx + 16, y0 + fm.ascent(), QStringLiteral("+1"));
  p.drawText(bx + 16, y0 + bh / 2 + fm.ascent() / 2, QStringLiteral("0"));
  p.drawText(bx + 16, y0 + bh, QStringLiteral("\u22121"));
}

// ---- figures --------------------------------------------------------------------------------------

const std::vector<Figure>& all_figures() {
  static const std::vector<Figure> f{Figure::Loss,       Figure::ValDice,   Figure::ConflictAngles,
                                     Figure::ConflictFraction, Figure::GradNorms, Figure::GmdWeights};
  return f;
}

const char* figure_stem(Figure f) {
  switch (f) {
    case Figure::Loss: return "loss";
    case Figure::ValDice: return "val_dice";
    case Figure::ConflictAngles: return "conflict_angles";
    case Figure::ConflictFraction: return "conflict_fraction";
    case Figure::GradNorms: return "fig3_grad_norms";
    case Figure::GmdWeights: return "fig4_gmd_weights";
  }
  return "figure";
}

QString figure_title(Figure f) {
  switch (f) {
    case Figure::Loss: return QStringLiteral("Training loss (soft Dice) per subset");
    case Figure::ValDice: return QStringLiteral("Validation Dice per region");
    case Figure::ConflictAngles: return QStringLiteral("Angle between subset gradients");
    case Figure::ConflictFraction: return QStringLiteral("Conflicting subset pairs (negative cosine)");
    case Figure::GradNorms: return QStringLiteral("Gradient norm per subset (Fig. 3)");
    case Figure::GmdWeights: return QStringLiteral("GMD weight per subset (Fig. 4)");
  }
  return {};
}

namespace {
QString smooth_note(double w) {
  return w > 1 ? QStringLiteral(" \u2014 mean over %1 steps").arg(w, 0, 'g', 6) : QString();
}

std::vector<Series> angle_figure_series(const MetricsLog& log, const FigureOptions& o) {
  std::vector<Series> out;
  auto add = [&](std::vector<Series> s, const char* suffix) {
    for (auto& x : s) {
      x.name += suffix;
      out.push_back(std::move(x));
    }
  };
  if (o.angles_per_pair) {
    add(angle_pair_series(log, false), "");
    if (o.angles_after) add(angle_pair_series(log, true), " (after)");
  } else {
    add(angle_summary_series(log, false), " (before GMD)");
    if (o.angles_after) add(angle_summary_series(log, true), " (after GMD)");
  }
  // Drop series that have no point (e.g. no cos_after in the log).
  out.erase(std::remove_if(out.begin(), out.end(), [](const Series& s) { return s.points.empty(); }), out.end());
  return out;
}

SeriesStyle angle_style(const std::string& name) {
  const bool after = name.find("(after") != std::string::npos;
  SeriesStyle st;
  if (name.rfind("min", 0) == 0 || name.rfind("max", 0) == 0 || name.rfind("mean", 0) == 0) {
    const bool mean = name.rfind("mean", 0) == 0;
    st.color = after ? (mean ? QColor(20, 90, 200) : QColor(120, 160, 230))
                     : (mean ? QColor(200, 30, 30) : QColor(235, 140, 130));
    st.width = mean ? 2.2 : 1.2;
    st.pen = name.rfind("max", 0) == 0 ? Qt::DashLine : (name.rfind("min", 0) == 0 ? Qt::DotLine : Qt::SolidLine);
    return st;
  }
  // Per pair: the colour of the pair's first subset blended with its second.
  const auto bar = name.find(" | ");
  std::string a = name.substr(0, bar), b = bar == std::string::npos ? name : name.substr(bar + 3);
  const auto paren = b.find(" (");
  if (paren != std::string::npos) b = b.substr(0, paren);
  const QColor ca = subset_color(a), cb = subset_color(b);
  st.color = QColor((ca.red() + cb.red()) / 2, (ca.green() + cb.green()) / 2, (ca.blue() + cb.blue()) / 2);
  st.width = 1.0;
  st.pen = after ? Qt::DashLine : Qt::SolidLine;
  return st;
}
}  // namespace

void show_figure(SeriesChart& chart, Figure f, const MetricsLog& log, const FigureOptions& o) {
  const double w = o.smoothing;
  switch (f) {
    case Figure::Loss:
      chart.setTitles(figure_title(f) + smooth_note(w), QStringLiteral("step"), QStringLiteral("loss"));
      chart.setLogY(o.log_loss);
      chart.setEmptyText(QStringLiteral("no steps yet"));
      chart.setSeries(smooth(loss_series(log), w), [](const std::string& n) {
        SeriesStyle st{subset_color(n)};
        st.width = n == "total" ? 2.6 : 1.2;
        return st;
      });
      break;
    case Figure::ValDice:
      chart.setTitles(figure_title(f), QStringLiteral("step"), QStringLiteral("Dice"));
      chart.setFixedYRange(0.0, 1.0);
      chart.setEmptyText(QStringLiteral("no validation yet"));
      chart.setSeries(val_dice_series(log), [](const std::string& n) {
        const int r = std::max(0, region_index(n.c_str()));
        SeriesStyle st{region_color(r)};
        st.width = 2.0;
        st.pen = r == 0 ? Qt::SolidLine : r == 1 ? Qt::DashLine : Qt::DotLine;  // tell overlapping lines apart
        st.markers = true;
        return st;
      });
      break;
    case Figure::ConflictAngles:
      chart.setTitles(figure_title(f) + smooth_note(w), QStringLiteral("step"), QStringLiteral("angle (degrees)"));
      chart.setFixedYRange(0.0, 180.0);
      chart.setReferenceLine(90.0, QStringLiteral("90\u00b0 (orthogonal)"));
      chart.setLegendLimit(o.angles_per_pair ? 16 : 20);
      chart.setEmptyText(QStringLiteral("no GMD statistics (ds-gmd runs only)"));
      chart.setSeries(smooth(angle_figure_series(log, o), w), angle_style);
      break;
    case Figure::ConflictFraction:
      chart.setTitles(figure_title(f) + smooth_note(w), QStringLiteral("step"), QStringLiteral("fraction of pairs"));
      chart.setFixedYRange(0.0, 1.0);
      chart.setEmptyText(QStringLiteral("no GMD statistics (ds-gmd runs only)"));
      chart.setSeries({smooth(conflict_fraction_series(log), w)}, [](const std::string&) {
        SeriesStyle st{QColor(200, 90, 0)};
        st.width = 1.8;
        return st;
      });
      break;
    case Figure::GradNorms:
      chart.setTitles(figure_title(f) + smooth_note(w), QStringLiteral("step"), QStringLiteral("\u2016g\u2016 (L2)"));
      chart.setLogY(o.log_norms);
      chart.setEmptyText(QStringLiteral("no GMD statistics (ds-gmd runs only)"));
      chart.setSeries(smooth(norm_series(log), w), [](const std::string& n) {
        SeriesStyle st{subset_color(n)};
        st.width = 1.4;
        return st;
      });
      break;
    case Figure::GmdWeights:
      chart.setTitles(figure_title(f) + smooth_note(o.weight_window), QStringLiteral("step"),
                      QStringLiteral("weight w"));
      chart.setEmptyText(QStringLiteral("no GMD statistics (ds-gmd runs only)"));
      chart.setSeries(smooth(weight_series(log), o.weight_window), [](const std::string& n) {
        SeriesStyle st{subset_color(n)};
        st.width = 1.6;
        return st;
      });
      break;
  }
}

std::string figure_csv(Figure f, const MetricsLog& log, const FigureOptions& o) {
  std::vector<Series> raw;
  double w = o.smoothing;
  switch (f) {
    case Figure::Loss: raw = loss_series(log); break;
    case Figure::ValDice: raw = val_dice_series(log); w = 1; break;
    case Figure::ConflictAngles: {
      FigureOptions all = o;
      all.angles_after = true;
      all.angles_per_pair = false;
      raw = angle_figure_series(log, all);
      all.angles_per_pair = true;
      for (auto& s : angle_figure_series(log, all)) {
        if (s.name.find(" (after)") == std::string::npos) s.name += " (before)";
        raw.push_back(std::move(s));
      }
      break;
    }
    case Figure::ConflictFraction: raw = {conflict_fraction_series(log)}; break;
    case Figure::GradNorms: raw = norm_series(log); break;
    case Figure::GmdWeights: raw = weight_series(log); w = o.weight_window; break;
  }
  if (w > 1) {
    const auto n = raw.size();
    for (std::size_t i = 0; i < n; ++i) {
      Series s = smooth(raw[i], w);
      std::ostringstream name;
      name << raw[i].name << " [mean over " << w << " steps]";
      s.name = name.str();
      raw.push_back(std::move(s));
    }
  }
  return series_csv(raw);
}

// ---- export ---------------------------------------------------------------------------------------

QImage render_widget(QWidget* w) {
  if (!w) return {};
  w->ensurePolished();
  if (w->layout()) w->layout()->activate();
  QCoreApplication::sendPostedEvents();
  QCoreApplication::processEvents();
  return w->grab().toImage();
}

bool save_png(QWidget* w, const QString& path, QString* error) {
  const QImage img = render_widget(w);
  QSaveFile f(path);
  if (img.isNull() || !f.open(QIODevice::WriteOnly) || !img.save(&f, "PNG") || !f.commit()) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

bool save_svg(QWidget* w, const QString& path, const QString& title, QString* error) {
  if (!w) return false;
  render_widget(w);  // lays the widget out
  QBuffer buf;
  buf.open(QIODevice::WriteOnly);
  {
    QSvgGenerator gen;
    gen.setOutputDevice(&buf);
    gen.setSize(w->size());
    gen.setViewBox(QRect(QPoint(0, 0), w->size()));
    gen.setTitle(title);
    gen.setDescription(QStringLiteral("GMD Studio"));
    QPainter p(&gen);
    w->render(&p);
  }
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(buf.data()) != buf.data().size() || !f.commit()) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

bool save_text(const QString& path, const std::string& text, QString* error) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) ||
      f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()) || !f.commit()) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

QStringList export_figures(const MetricsLog& log, const FigureOptions& o, const QString& dir, QSize size,
                           QString* error) {
  QStringList written;
  if (!QDir().mkpath(dir)) {
    if (error) *error = QStringLiteral("cannot create %1").arg(dir);
    return written;
  }
  auto ok = [&](bool b, const QString& file) {
    if (b) written << file;
    return b;
  };
  for (Figure f : all_figures()) {
    SeriesChart chart;
    chart.resize(size);
    show_figure(chart, f, log, o);
    const QString base = QDir(dir).filePath(QString::fromLatin1(figure_stem(f)));
    if (!ok(save_png(&chart, base + ".png", error), base + ".png")) return written;
    if (!ok(save_svg(&chart, base + ".svg", chart.title(), error), base + ".svg")) return written;
    if (!ok(save_text(base + ".csv", figure_csv(f, log, o), error), base + ".csv")) return written;
  }
  const CosMatrix m = cos_matrix(log);
  if (!m.names.empty()) {
    CosHeatmap heat;
    heat.resize(size.width() * 2 / 3, size.height());
    const QString base = QDir(dir).filePath(QStringLiteral("conflict_cos_matrix"));
    heat.setMatrix(m, false);
    if (!ok(save_png(&heat, base + ".png", error), base + ".png")) return written;
    if (!ok(save_svg(&heat, base + ".svg", QStringLiteral("cosine matrix"), error), base + ".svg")) return written;
    std::ostringstream csv;
    csv << "step " << m.step;
    for (const auto& n : m.names) csv << ',' << n;
    csv << '\n';
    for (std::size_t i = 0; i < m.names.size(); ++i) {
      csv << m.names[i];
      for (double v : m.cos[i]) csv << ',' << v;
      csv << '\n';
    }
    if (!ok(save_text(base + ".csv", csv.str(), error), base + ".csv")) return written;
  }
  return written;
}

}  // namespace gmd::panels
