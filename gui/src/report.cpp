#include "gmd/gui/report.hpp"

#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/text.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::gui {
namespace {
std::string num(double v, int prec = 3) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(prec);
  s << v;
  return s.str();
}
constexpr std::array<const char*, 3> kLabel{"NCR_NET", "ED", "ET"};
}  // namespace

nlohmann::json Report::to_json() const {
  nlohmann::json j;
  j["case"] = case_id;
  j["case_folder"] = case_folder;
  j["source"] = source;
  j["modalities_present"] = subset_keys(present);
  j["modalities_used"] = used ? subset_keys(used) : std::string();
  if (source == "segmentation") {
    j["model"] = {{"name", model_name}, {"path", model_path}};
    j["device"] = device;
    j["seconds"] = seconds;
  }
  j["volume_ml"] = {{"WT", region_ml[0]}, {"TC", region_ml[1]}, {"ET", region_ml[2]},
                    {"NCR_NET", label_ml[0]}, {"ED", label_ml[1]}};
  j["labels"] = {{"1", "NCR/NET"}, {"2", "ED"}, {"4", "ET"}};
  j["geometry"] = {{"size", size}, {"spacing_mm", spacing}};
  j["created"] = created;
  return j;
}

std::string Report::to_csv() const {
  std::ostringstream s;
  s << "quantity,value\n";
  s << "case," << csv_field(case_id) << "\n";
  s << "source," << source << "\n";
  s << "modalities_present," << csv_field(subset_name(present)) << "\n";
  s << "modalities_used," << csv_field(used ? subset_name(used) : std::string()) << "\n";
  if (source == "segmentation") {
    s << "model," << csv_field(model_name) << "\n";
    s << "model_path," << csv_field(model_path) << "\n";
    s << "device," << csv_field(device) << "\n";
    s << "seconds," << num(seconds, 2) << "\n";
  }
  for (int r = 0; r < 3; ++r) s << region_name(r) << "_ml," << num(region_ml[r]) << "\n";
  for (int l = 0; l < 2; ++l) s << kLabel[l] << "_ml," << num(label_ml[l]) << "\n";
  s << "created," << csv_field(created) << "\n";
  return s.str();
}

void write_report_json(const QString& path, const Report& r) {
  write_text_atomically(path.toStdString(), r.to_json().dump(2) + "\n");
}

void write_report_csv(const QString& path, const Report& r) { write_text_atomically(path.toStdString(), r.to_csv()); }

void write_label_map(const QString& path, const io::LabelMap& labels) {
  const QString l = path.toLower();
  if (!l.endsWith(".nii") && !l.endsWith(".nii.gz"))
    throw InputError(path.toStdString() + ": label maps are written as NIfTI; use .nii.gz or .nii");
  io::write_labels(path.toStdString(), labels);
}

}  // namespace gmd::gui
