#include "gmd/gui/report.hpp"

#include "gmd/common/error.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::gui {

QString expected_accuracy_html(const pipeline::Trust& t) {
  const QString used = QString::fromStdString(subset_name(t.used));
  if (!t.evaluated)
    return QString("<b>Expected accuracy</b> with %1: <span style='color:#b0b6bf'>not evaluated</span> (%2)")
        .arg(used, QString::fromStdString(t.not_evaluated_reason).toHtmlEscaped());
  QString h = QString("<b>Expected accuracy</b> with %1 <span style='color:#8a9099'>(Dice on %2 held-out cases)</span>"
                      "<table cellspacing='0' cellpadding='1'>")
                  .arg(used)
                  .arg(t.cases);
  for (int r = 0; r < 3; ++r) {
    const auto& rt = t.region[static_cast<size_t>(r)];
    const char* colour = rt.flag == pipeline::TrustFlag::Good      ? "#81c784"
                         : rt.flag == pipeline::TrustFlag::Limited ? "#ffb74d"
                                                                   : "#ff8a80";
    QString hint;
    if (rt.best_addition >= 0)
      hint = QString("<span style='color:#8a9099'>+%1 &rarr; %2</span>")
                 .arg(QString::fromStdString(std::string(modality_display(rt.best_addition))))
                 .arg(rt.dice_with_addition, 0, 'f', 2);
    h += QString("<tr><td><b>%1</b>&nbsp;</td><td align='right'>%2&nbsp;</td><td style='color:%3'>%4&nbsp;</td>"
                 "<td>%5</td></tr>")
             .arg(region_name(r))
             .arg(rt.dice, 0, 'f', 2)
             .arg(colour, pipeline::trust_flag_name(rt.flag), hint);
  }
  return h + "</table>";
}
void write_report_json(const QString& path, const Report& r) {
  write_text_atomically(path.toStdString(), r.to_json().dump(2) + "\n");
}

void write_report_csv(const QString& path, const Report& r) { write_text_atomically(path.toStdString(), r.to_csv()); }

void write_label_map(const QString& path, const LabelMap& labels) {
  const QString l = path.toLower();
  if (!l.endsWith(".nii") && !l.endsWith(".nii.gz"))
    throw InputError(path.toStdString() + ": label maps are written as NIfTI; use .nii.gz or .nii");
  io::write_labels(path.toStdString(), labels);
}

}  // namespace gmd::gui
