// Chart widgets and figure export (gui/panels/charts.hpp) under QT_QPA_PLATFORM=offscreen.
#include <gtest/gtest.h>

#include <QChart>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>
#include <filesystem>
#include <set>

#include "gmd/common/modality.hpp"
#include "gmd/viz/palette.hpp"
#include "gmd/panels/charts.hpp"
#include "gmd/panels/style.hpp"

namespace fs = std::filesystem;
using namespace gmd::panels;

namespace {
const fs::path kSmall = fs::path(GMD_PANELS_TEST_DATA) / "metrics_small.jsonl";

QLineSeries* line(SeriesChart& c, const QString& name) {
  for (auto* s : c.chart()->series())
    if (s->name() == name) return qobject_cast<QLineSeries*>(s);
  return nullptr;
}
// Distinct colours in an image (coarsely quantised): a blank render has 1-2.
int colour_count(const QImage& img) {
  std::set<unsigned> c;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) c.insert(img.pixel(x, y) & 0xF0F0F0u);
  return static_cast<int>(c.size());
}
}  // namespace

TEST(Style, FifteenDistinctSubsetColoursStableByName) {
  std::set<unsigned> rgb;
  for (auto m : gmd::all_subsets()) rgb.insert(subset_color(gmd::subset_name(m)).rgb());
  EXPECT_EQ(rgb.size(), 15u);
  EXPECT_EQ(subset_color("FLAIR+T1ce"), subset_color("flair,t1ce"));  // by subset, not spelling
  // Label colours are the main views' palette (resources/colors/brats.json), not a second copy.
  const auto& pal = gmd::viz::Palette::builtin().label;
  for (std::size_t i = 0; i < 3; ++i) {
    const int v = gmd::viz::kLabelValues[i];
    EXPECT_EQ(label_color(v), QColor(pal[i].r, pal[i].g, pal[i].b)) << v;
  }
  EXPECT_EQ(label_color(3), label_color(4));  // BraTS 2023 ET
  EXPECT_FALSE(label_color(0).isValid());
  EXPECT_EQ(label_color(2), QColor(40, 205, 75));  // brats.json's ED green
  EXPECT_EQ(short_subset_name("FLAIR+T1ce+T2"), QStringLiteral("F+T1c+T2"));
}

TEST(Charts, FiguresHavePointsOfEveryKindWithStableColours) {
  const MetricsLog log = load_metrics(kSmall);
  FigureOptions o;
  SeriesChart loss, norms, weights, angles, frac, dice;
  show_figure(loss, Figure::Loss, log, o);
  show_figure(norms, Figure::GradNorms, log, o);
  show_figure(weights, Figure::GmdWeights, log, o);
  show_figure(angles, Figure::ConflictAngles, log, o);
  show_figure(frac, Figure::ConflictFraction, log, o);
  show_figure(dice, Figure::ValDice, log, o);
  EXPECT_EQ(loss.seriesNames(), (QStringList{"total", "FLAIR", "T1ce", "T2", "FLAIR+T1ce"}));
  EXPECT_EQ(loss.pointCount(), 4u + 4u + 3u + 1u + 1u);
  EXPECT_EQ(norms.pointCount(), 4u + 3u + 1u + 1u);
  EXPECT_EQ(weights.pointCount(), 9u);
  EXPECT_EQ(frac.pointCount(), 4u);
  EXPECT_EQ(dice.pointCount(), 3u);
  // min/mean/max before and after GMD: 4 steps each.
  EXPECT_EQ(angles.seriesNames().size(), 6);
  EXPECT_EQ(angles.pointCount(), 24u);
  // The same subset has the same colour in every chart.
  ASSERT_NE(line(loss, "FLAIR+T1ce"), nullptr);
  ASSERT_NE(line(norms, "FLAIR+T1ce"), nullptr);
  EXPECT_EQ(line(loss, "FLAIR+T1ce")->color(), subset_color("FLAIR+T1ce"));
  EXPECT_EQ(line(norms, "FLAIR+T1ce")->color(), line(loss, "FLAIR+T1ce")->color());
  EXPECT_EQ(line(weights, "T2")->color(), subset_color("T2"));
  // Norms on a log axis.
  EXPECT_NE(qobject_cast<QLogValueAxis*>(norms.chart()->axes(Qt::Vertical).value(0)), nullptr);
}

TEST(Charts, SmoothingAndLogScaleChangeWhatIsDrawn) {
  const MetricsLog log = load_metrics(kSmall);
  FigureOptions o;
  o.weight_window = 100;
  SeriesChart w;
  show_figure(w, Figure::GmdWeights, log, o);
  const QLineSeries* flair = line(w, "FLAIR");
  ASSERT_NE(flair, nullptr);
  EXPECT_DOUBLE_EQ(flair->at(flair->count() - 1).y(), (1.5 + 1.0 + 1.0 + 2.0) / 4.0);
  o.weight_window = 1;
  show_figure(w, Figure::GmdWeights, log, o);
  EXPECT_DOUBLE_EQ(line(w, "FLAIR")->at(line(w, "FLAIR")->count() - 1).y(), 2.0);

  SeriesChart c;
  c.setSeries({{"a", {{1, -1.0}, {2, 0.0}, {3, 10.0}}}}, nullptr);
  EXPECT_EQ(c.pointCount(), 3u);
  c.setLogY(true);  // y <= 0 cannot be drawn on a log axis
  EXPECT_EQ(c.pointCount(), 1u);
  auto* ax = qobject_cast<QLogValueAxis*>(c.chart()->axes(Qt::Vertical).value(0));
  ASSERT_NE(ax, nullptr);
  EXPECT_LE(ax->min(), 10.0);
  EXPECT_GE(ax->max(), 10.0);
  c.setLogY(false);
  EXPECT_EQ(c.pointCount(), 3u);
  EXPECT_NE(qobject_cast<QValueAxis*>(c.chart()->axes(Qt::Vertical).value(0)), nullptr);
}

TEST(Charts, LiveUpdatesKeepOneLinePerNameInPaperOrder) {
  SeriesChart c;
  c.setSeries({{"T2", {{1, 1}}}}, nullptr);
  c.setSeries({{"FLAIR", {{2, 1}}}, {"T2", {{1, 1}, {2, 2}}}}, nullptr);
  EXPECT_EQ(c.seriesNames(), (QStringList{"FLAIR", "T2"}));
  EXPECT_EQ(c.chart()->series().size(), 2);
  EXPECT_EQ(c.pointCount(), 3u);
  // A line hidden from the legend stays hidden through updates.
  c.setSeriesHidden("T2", true);
  c.setSeries({{"FLAIR", {{2, 1}, {3, 1}}}, {"T2", {{1, 1}, {2, 2}, {3, 3}}}}, nullptr);
  EXPECT_FALSE(line(c, "T2")->isVisible());
  EXPECT_TRUE(line(c, "FLAIR")->isVisible());
  QCoreApplication::processEvents();  // the legend settles its markers asynchronously
  EXPECT_TRUE(c.chart()->legend()->markers(line(c, "T2")).value(0)->isVisible());
}

TEST(Charts, ExportWritesPngSvgCsvForEveryFigure) {
  const MetricsLog log = load_metrics(kSmall);
  const QString dir = QStringLiteral(GMD_PANELS_TEST_OUT) + "/export";
  QDir(dir).removeRecursively();
  QString err;
  const QStringList files = export_figures(log, FigureOptions{}, dir, QSize(800, 480), &err);
  EXPECT_TRUE(err.isEmpty()) << err.toStdString();
  for (const char* stem : {"loss", "val_dice", "conflict_angles", "conflict_fraction", "fig3_grad_norms",
                           "fig4_gmd_weights", "conflict_cos_matrix"})
    for (const char* ext : {".png", ".svg", ".csv"}) {
      const QString f = dir + "/" + stem + ext;
      EXPECT_TRUE(files.contains(f)) << f.toStdString();
      EXPECT_GT(QFileInfo(f).size(), 20) << f.toStdString();
    }
  const QImage img(dir + "/fig3_grad_norms.png");
  ASSERT_FALSE(img.isNull());
  EXPECT_EQ(img.size(), QSize(800, 480));
  EXPECT_GT(colour_count(img), 6);  // lines, text and legend were drawn
  QFile svg(dir + "/fig4_gmd_weights.svg");
  ASSERT_TRUE(svg.open(QIODevice::ReadOnly));
  EXPECT_TRUE(svg.readAll().contains("<svg"));
  QFile csv(dir + "/conflict_angles.csv");
  ASSERT_TRUE(csv.open(QIODevice::ReadOnly));
  const QByteArray head = csv.readLine();
  EXPECT_TRUE(head.contains("mean (before GMD)"));
  EXPECT_TRUE(head.contains("mean (after GMD)"));
  EXPECT_TRUE(head.contains("FLAIR | T1ce (before)"));
}

TEST(Charts, HeatmapShowsTheMatrixCells) {
  const MetricsLog log = load_metrics(kSmall);
  CosHeatmap h;
  h.resize(400, 320);
  h.setMatrix(cos_matrix(log, 2));
  const QImage img = render_widget(&h);
  ASSERT_FALSE(img.isNull());
  EXPECT_GT(colour_count(img), 4);
  EXPECT_EQ(CosHeatmap::colorFor(-1.0), QColor(33, 102, 172));
  EXPECT_EQ(CosHeatmap::colorFor(1.0), QColor(178, 24, 43));
}
