// gmd-plot: figures and CSVs from a metrics file, exit codes on bad input.
#include <gtest/gtest.h>

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QProcess>

namespace {
struct PlotRun {
  int rc = -1;
  QString out;
};
PlotRun plot(const QStringList& args) {
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(QStringLiteral(GMD_PLOT_PATH), args);
  PlotRun r;
  if (!p.waitForStarted(20000) || !p.waitForFinished(120000)) return r;
  r.rc = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAll());
  return r;
}
}  // namespace

TEST(GmdPlot, WritesEveryFigureAsPngSvgAndCsv) {
  const QString out = QStringLiteral(GMD_PANELS_TEST_OUT) + "/gmd_plot";
  QDir(out).removeRecursively();
  const PlotRun r = plot({"--run", QStringLiteral(GMD_PANELS_TEST_DATA) + "/metrics_small.jsonl", "--out", out,
                      "--width", "640", "--height", "400"});
  ASSERT_EQ(r.rc, 0) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains(QStringLiteral("4 steps, 1 validations"))) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains(QStringLiteral("2 unreadable line(s) skipped"))) << r.out.toStdString();
  for (const char* stem : {"fig3_grad_norms", "fig4_gmd_weights", "conflict_angles", "conflict_fraction", "loss",
                           "val_dice", "conflict_cos_matrix"})
    for (const char* ext : {".png", ".svg", ".csv"})
      EXPECT_TRUE(QFileInfo::exists(out + "/" + stem + ext)) << stem << ext;
  EXPECT_EQ(QImage(out + "/loss.png").size(), QSize(640, 400));
}

TEST(GmdPlot, BadInputExitsWithCode2NamingTheFile) {
  const PlotRun r = plot({"--run", "/nonexistent/run_dir", "--out", QStringLiteral(GMD_PANELS_TEST_OUT) + "/x"});
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains(QStringLiteral("/nonexistent/run_dir"))) << r.out.toStdString();
}
