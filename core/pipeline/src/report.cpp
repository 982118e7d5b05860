#include "gmd/pipeline/report.hpp"

#include <cmath>
#include <sstream>

#include "gmd/common/regions.hpp"
#include "gmd/common/text.hpp"

namespace gmd::pipeline {
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

nlohmann::json SegmentationReport::to_json() const {
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
    if (trust) j["expected_accuracy"] = trust_json(*trust);
    if (!agreement.is_null()) {
      j["agreement"] = agreement;
      if (!agreement_files.empty()) j["agreement"]["files"] = agreement_files;
    }
  }
  j["volume_ml"] = {{"WT", region_ml[0]}, {"TC", region_ml[1]}, {"ET", region_ml[2]},
                    {"NCR_NET", label_ml[0]}, {"ED", label_ml[1]}};
  j["labels"] = {{"1", "NCR/NET"}, {"2", "ED"}, {std::to_string(et_label), "ET"}};
  j["et_label"] = et_label;
  if (!viewer_files.empty()) j["viewer_files"] = viewer_files;
  if (!input_notes.empty()) j["input"] = input_notes;
  if (!registration.is_null()) j["registration"] = registration;
  j["geometry"] = {{"size", size}, {"spacing_mm", spacing}};
  j["created"] = created;
  return j;
}

nlohmann::json registration_json(const io::Case& c) {
  nlohmann::json j;
  const int reference = io::reference_modality(c.present());  // the order align_images uses
  for (int m = 0; m < kNumModalities; ++m) {
    if (!c.registration[m]) continue;
    const io::Registration& r = *c.registration[m];
    j[std::string(modality_display(m))] = {
        {"reference", reference >= 0 ? std::string(modality_display(reference)) : std::string()},
        {"maps", "reference point (LPS, mm) -> point in this series"},
        {"rotation", r.transform.rotation},
        {"centre_mm", r.transform.centre},
        {"translation_mm", r.transform.translation},
        {"angle_deg", r.transform.angle_deg()},
        {"mattes_mi", r.metric},
        {"iterations", r.iterations}};
  }
  return j;
}

std::string SegmentationReport::to_csv() const {
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
  s << "et_label," << et_label << "\n";
  for (const auto& f : viewer_files) s << "viewer_file," << csv_field(f) << "\n";
  for (const auto& n : input_notes) s << "input," << csv_field(n) << "\n";
  if (registration.is_object())
    for (const auto& [name, t] : registration.items()) {
      s << "registration_" << name << "_angle_deg," << num(t.value("angle_deg", 0.0)) << "\n";
      const auto tr = t.value("translation_mm", std::vector<double>{0, 0, 0});
      s << "registration_" << name << "_translation_mm," << csv_field(num(tr.at(0), 2) + " " + num(tr.at(1), 2) + " " + num(tr.at(2), 2)) << "\n";
    }
  if (source == "segmentation" && trust) {
    if (!trust->evaluated) {
      s << "expected_accuracy,not evaluated\n";
    } else {
      s << "expected_accuracy_cases," << trust->cases << "\n";
      for (int r = 0; r < 3; ++r) {
        const auto& rt = trust->region[r];
        s << region_name(r) << "_expected_dice," << num(rt.dice) << "\n";
        s << region_name(r) << "_trust," << trust_flag_name(rt.flag) << "\n";
        if (rt.best_addition >= 0)
          s << region_name(r) << "_would_help_most," << modality_key(rt.best_addition) << "\n";
      }
    }
  }
  if (source == "segmentation" && agreement.is_object() && agreement.contains("regions")) {
    for (int r = 0; r < 3; ++r) {
      const auto& v = agreement["regions"][region_name(r)]["all_subsets_agree_share"];
      s << region_name(r) << "_all_subsets_agree_share," << (v.is_number() ? num(v.get<double>()) : std::string())
        << "\n";
    }
  }
  s << "created," << csv_field(created) << "\n";
  return s.str();
}

}  // namespace gmd::pipeline
