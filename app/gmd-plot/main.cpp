// gmd-plot: the training figures of a run, headless.
//   gmd-plot --run RUN_DIR --out DIR
// writes DIR/{loss,val_dice,conflict_angles,conflict_fraction,fig3_grad_norms,fig4_gmd_weights}.{png,svg,csv}
// (+ conflict_cos_matrix.* for ds-gmd runs) from RUN_DIR/metrics.jsonl. Exit 0 on success, 2 on bad
// input (one-line message naming the file), 1 on other errors.
#include <CLI/CLI.hpp>
#include <QApplication>
#include <QString>
#include <filesystem>
#include <iostream>

#include "gmd/common/error.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/panels/charts.hpp"
#include "gmd/panels/metrics.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"gmd-plot: figures (PNG + SVG) and data (CSV) from a training run's metrics.jsonl"};
  std::string run, out;
  double smoothing = 1.0, weight_window = 100.0;
  int width = 900, height = 540;
  bool per_pair = false, log_loss = false, linear_norms = false, before_only = false;
  app.add_option("--run", run, "Run folder (or its metrics.jsonl)")->required();
  app.add_option("--out", out, "Output folder")->required();
  app.add_option("--smoothing", smoothing, "Trailing mean over N steps for loss/angles/conflicts/norms (1 = raw)")
      ->capture_default_str();
  app.add_option("--weights-window", weight_window, "Trailing mean over N steps for the GMD weights (Fig. 4)")
      ->capture_default_str();
  app.add_option("--width", width, "Figure width (pixels)")->capture_default_str();
  app.add_option("--height", height, "Figure height (pixels)")->capture_default_str();
  app.add_flag("--per-pair", per_pair, "Angles per subset pair instead of min/mean/max");
  app.add_flag("--before-only", before_only, "Angles before GMD only");
  app.add_flag("--log-loss", log_loss, "Log scale for the loss");
  app.add_flag("--linear-norms", linear_norms, "Linear scale for the gradient norms");
  app.set_version_flag("--version", std::string("gmd-plot " GMD_VERSION));
  CLI11_PARSE(app, argc, argv);

  // Figures are rendered off screen: no display needed.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  int qargc = 1;
  char* qargv[] = {argv[0], nullptr};
  QApplication qapp(qargc, qargv);

  try {
    if (width < 200 || height < 150) throw gmd::UsageError("--width/--height: at least 200x150 pixels");
    fs::path file(run);
    if (fs::is_directory(file)) file /= gmd::run_files::kMetrics;
    if (!fs::exists(file)) throw gmd::InputError(file.string() + ": no metrics file (is this a gmd train run folder?)");
    const gmd::panels::MetricsLog log = gmd::panels::load_metrics(file);
    if (log.steps().empty()) throw gmd::InputError(file.string() + ": no training step recorded yet");
    gmd::panels::FigureOptions o;
    o.smoothing = smoothing;
    o.weight_window = weight_window;
    o.angles_per_pair = per_pair;
    o.angles_after = !before_only;
    o.log_loss = log_loss;
    o.log_norms = !linear_norms;
    QString err;
    const QStringList files =
        gmd::panels::export_figures(log, o, QString::fromStdString(out), QSize(width, height), &err);
    if (!err.isEmpty()) throw gmd::InputError(err.toStdString());
    for (const auto& f : files) std::cout << f.toStdString() << "\n";
    std::cout << log.steps().size() << " steps, " << log.vals().size() << " validations";
    if (log.bad_lines() + log.partial_lines() > 0)
      std::cout << ", " << (log.bad_lines() + log.partial_lines()) << " unreadable line(s) skipped";
    std::cout << "\n";
    return 0;
  } catch (const gmd::InputError& e) {
    std::cerr << "gmd-plot: " << e.what() << "\n";
    return 2;
  } catch (const gmd::UsageError& e) {
    std::cerr << "gmd-plot: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gmd-plot: " << e.what() << "\n";
    return 1;
  }
}
