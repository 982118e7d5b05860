// gmd dicom: the series of a DICOM folder, the modality proposed for each and why (what `gmd segment --case DIR`
// would use; `--assign UID=MODALITY` changes it).
#include <fmt/format.h>

#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/dicom.hpp"

namespace gmd::cli {

std::string dicom_table(const std::vector<io::DicomSeries>& series) {
  std::string out = fmt::format("{:<34} {:<28} {:>12} {:<9} {:<7} {}\n", "series UID", "description", "size",
                                "plane", "as", "why");
  for (const auto& s : series)
    out += fmt::format("{:<34} {:<28} {:>12} {:<9} {:<7} {}\n", s.uid, s.description.substr(0, 28),
                       fmt::format("{}x{}x{}", s.size[0], s.size[1], s.size[2]), s.orientation,
                       s.proposed >= 0 ? std::string(modality_key(s.proposed)) : std::string("-"), s.why);
  return out;
}

void add_dicom(CLI::App& app) {
  auto* cmd = app.add_subcommand("dicom", "List the series of a DICOM folder and the modality proposed for each");
  auto dir = std::make_shared<std::string>();
  auto assign = std::make_shared<std::string>();
  cmd->add_option("folder", *dir, "Folder holding DICOM files (searched recursively)")->required();
  cmd->add_option("--assign", *assign, "Override proposals: SERIES_UID=flair|t1|t1ce|t2|skip, comma-separated");
  cmd->callback([=] {
    const auto series = io::list_dicom_series(*dir);
    std::cout << dicom_table(series);
    std::vector<std::string> notes;
    io::assign_series(series, io::parse_assignments(*assign), &notes);
    for (const auto& n : notes) std::cout << n << "\n";
  });
}

}  // namespace gmd::cli
