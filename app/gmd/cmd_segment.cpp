// gmd segment: one case, the modalities it has (or --modalities), a label map.
#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <optional>
#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/palette.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/viewer_files.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/dicom_seg.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/pipeline/report.hpp"
#include "infer_options.hpp"

namespace gmd::cli {
namespace {
// --out naming one of the case's own files (directly or through a link) would destroy the input.
void refuse_overwriting_inputs(const std::string& out, const io::CaseFiles& files) {
  for (int m = 0; m < kNumModalities; ++m)
    if (files.modality[m] && same_file(out, *files.modality[m]))
      throw UsageError("--out " + out + ": is the case's " + std::string(modality_display(m)) +
                       " image; choose another output file");
  if (files.seg && same_file(out, *files.seg))
    throw UsageError("--out " + out + ": is the case's segmentation; choose another output file");
}

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace

void add_segment(CLI::App& app) {
  auto* cmd = app.add_subcommand("segment", "Segment a case with the modalities it has (or --modalities)");
  auto o = std::make_shared<InferOpts>();
  auto case_dir = std::make_shared<std::string>();
  auto mods = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto report = std::make_shared<std::string>();
  auto agreement = std::make_shared<bool>(false);
  auto viewer_files = std::make_shared<bool>(false);
  auto et_label = std::make_shared<int>(4);
  auto assign = std::make_shared<std::string>();
  auto align = std::make_shared<std::string>("auto");
  auto dicom_seg = std::make_shared<std::string>();
  add_infer_options(cmd, *o, false);
  cmd->add_option("--case", *case_dir, "Case folder: NIfTI files (BraTS names), or DICOM series (any layout)")
      ->required();
  cmd->add_option("--assign", *assign,
                  "DICOM: override the proposed modalities, SERIES_UID=flair|t1|t1ce|t2|skip, comma-separated (see "
                  "`gmd dicom FOLDER`)");
  cmd->add_option("--register", *align,
                  "Sequences not on the reference grid (T1ce, else FLAIR, T1, T2) are registered rigidly onto it (auto), "
                  "every sequence is (always), or they are resampled in scanner coordinates only (off)")
      ->capture_default_str();
  auto* mods_opt = cmd->add_option("--modalities", *mods, "Use only these, e.g. flair,t1ce (default: all present)");
  cmd->add_option("--out", *out, "Output label map (.nii.gz)")->required();
  cmd->add_option("--report", *report, "Also write a report (JSON, or CSV when the name ends in .csv): volumes, "
                                       "expected accuracy for the modalities used, agreement (with --agreement)");
  cmd->add_option("--et-label", *et_label, "Value of enhancing tumour in the output: 4 (BraTS 2018-2021) or 3 (BraTS 2023)")
      ->capture_default_str();
  cmd->add_option("--dicom-seg", *dicom_seg,
                  "DICOM input: also write the segmentation as a DICOM SEG object (one segment per label, SNOMED CT "
                  "codes, the studio's names and colours) referencing the reference series (T1ce, else FLAIR, T1, T2)");
  cmd->add_flag("--viewer-files", *viewer_files,
                "Also write OUT_itksnap_labels.txt (ITK-SNAP: itksnap -g IMAGE -s OUT -l OUT_itksnap_labels.txt) and "
                "OUT_slicer_colors.ctbl (3D Slicer colour table) with the studio's names and colours");
  cmd->add_flag("--agreement", *agreement,
                "Also predict every subset of the modalities used and write where they agree: OUT_WT/_TC/_ET.nii.gz "
                "(fraction of the subsets that include each voxel)");
  cmd->callback([=] {
    if (mods_opt->count() > 0 && mods->empty())
      throw UsageError("--modalities: empty list (name some of flair, t1, t1ce, t2, or leave the option out to use "
                       "every modality the case has)");
    check_output_file(*out, "--out");
    check_et_label(*et_label);
    if (!report->empty()) {
      check_output_file(*report, "--report");
      if (same_file(*report, *out)) throw UsageError("--report " + *report + ": is the --out file; choose another name");
    }
    const std::string agreement_base = pipeline::agreement_base(*out);
    const auto model = o->prepare();
    const bool dicom = io::is_dicom_folder(*case_dir);
    if (!dicom && !assign->empty())
      throw UsageError("--assign: " + *case_dir + " holds NIfTI files, not DICOM series");
    // Sequences on different grids (DICOM series, or NIfTI files converted one by one): onto the reference's grid.
    io::AlignOptions how;
    how.mode = io::parse_align(*align);
    std::string said;
    how.progress = [&said](const std::string& what, double) {
      if (what != said && what != "done") std::cout << what << " ..." << std::endl;
      said = what;
    };
    std::optional<io::Case> dicom_case;
    std::vector<std::string> input_notes;
    if (dicom) {
      // Every series listed with its proposal, then the case on one grid (the notes say what was chosen and moved).
      const auto series = io::list_dicom_series(*case_dir);
      std::cout << dicom_table(series);
      const SubsetMask only = mods->empty() ? model.modalities() : parse_subset(*mods);
      dicom_case = io::load_dicom_case(*case_dir, series, io::parse_assignments(*assign), only, &input_notes, how);
      for (const auto& n : input_notes) std::cout << n << "\n";
    }
    if (!dicom && !dicom_seg->empty())
      throw UsageError("--dicom-seg: " + *case_dir + " holds NIfTI files; a DICOM SEG needs DICOM series to refer to");
    if (!dicom_seg->empty()) check_output_file(*dicom_seg, "--dicom-seg");
    const auto files = dicom ? dicom_case->files : io::discover_case(*case_dir);
    refuse_overwriting_inputs(*out, files);
    if (!report->empty()) refuse_overwriting_inputs(*report, files);
    if (*agreement)
      for (const char* r : {"_WT", "_TC", "_ET"}) refuse_overwriting_inputs(agreement_base + r + ".nii.gz", files);
    const ViewerFiles viewer = viewer_file_paths(*out);
    if (*viewer_files) {
      refuse_overwriting_inputs(viewer.itksnap.string(), files);
      refuse_overwriting_inputs(viewer.slicer.string(), files);
    }
    const SubsetMask want = mods->empty() ? (files.present() & model.modalities()) : parse_subset(*mods);
    const auto c = dicom ? std::move(*dicom_case) : io::load_case(files, want, /*load_seg=*/false, &how, &input_notes);
    if (!dicom)
      for (const auto& n : input_notes) std::cout << n << "\n";
    auto opt = o->seg();
    opt.agreement = *agreement;
    auto seg = pipeline::segment(model, c, want, opt);
    set_et_label(seg.labels, *et_label);
    io::write_labels(*out, seg.labels);
    if (!dicom_seg->empty()) {
      io::DicomSegOptions so;
      so.colours = Palette::builtin().label;
      for (int l = 0; l < 3; ++l) so.names[l] = kLabelNames[l];
      so.algorithm_version = model.method() + " (" + subset_name(seg.used) + ")";
      // The label map is on the reference series' grid (load_dicom_case): the SEG refers to that series.
      io::write_dicom_seg(seg.labels, c.files.series_files[io::reference_modality(c.present())], *dicom_seg, so);
      std::cout << "DICOM SEG: " << *dicom_seg << "\n";
    }
    std::vector<std::string> viewer_written;
    if (*viewer_files) {
      write_viewer_files(*out, Palette::builtin(), *et_label);
      viewer_written = {viewer.itksnap.string(), viewer.slicer.string()};
      std::cout << "viewer files: " << viewer.itksnap.string() << ", " << viewer.slicer.string() << "\n";
    }
    std::cout << fmt::format("{}: segmented with {} on {} in {:.1f} s -> {}\n", c.id, subset_name(seg.used),
                             seg.device, seg.seconds, *out);
    std::cout << fmt::format("WT {:.2f} mL  TC {:.2f} mL  ET {:.2f} mL  (NCR/NET {:.2f}, ED {:.2f}, ET {:.2f})\n",
                             seg.region_ml[0], seg.region_ml[1], seg.region_ml[2], seg.label_ml[0], seg.label_ml[1],
                             seg.label_ml[2]);
    std::cout << pipeline::trust_text(seg.trust) << "\n";
    std::vector<std::string> agreement_files;
    if (seg.agreement) {
      agreement_files = pipeline::write_agreement(*seg.agreement, agreement_base);
      std::cout << pipeline::agreement_text(*seg.agreement) << "\n";
      std::cout << "agreement maps: " << agreement_files.front() << " (and _TC, _ET)\n";
    }
    if (!report->empty()) {
      pipeline::SegmentationReport r;
      r.case_id = c.id;
      r.case_folder = *case_dir;
      r.present = files.present();
      r.used = seg.used;
      r.model_name = model.method() + " (" + subset_name(model.modalities()) + ")";
      r.model_path = model.path().string();
      r.device = seg.device;
      r.seconds = seg.seconds;
      r.region_ml = seg.region_ml;
      r.label_ml = seg.label_ml;
      r.size = seg.labels.geom.size;
      r.spacing = seg.labels.geom.spacing;
      r.created = iso_now();
      r.trust = seg.trust;
      if (seg.agreement) {
        r.agreement = pipeline::agreement_json(*seg.agreement);
        r.agreement_files = agreement_files;
      }
      r.et_label = *et_label;
      r.viewer_files = viewer_written;
      r.input_notes = input_notes;
      r.registration = pipeline::registration_json(c);
      const bool csv = report->size() > 4 && report->compare(report->size() - 4, 4, ".csv") == 0;
      write_text_atomically(*report, csv ? r.to_csv() : r.to_json().dump(2) + "\n");
      std::cout << "report: " << *report << "\n";
    }
  });
}

}  // namespace gmd::cli
