// CaseController + ModalityBarModel + ModalityBar: loading every modality subset, file sorting,
// hand assignment, named errors, nothing lost on error, recent cases.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QSettings>
#include <QSignalSpy>
#include <fstream>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/dicom_series_dialog.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/io/resample.hpp"
#include "gmd/gui/modality_bar.hpp"
#include "gmd/gui/recent_cases.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using namespace gmd::gui;
using gmd::test::TinyCaseSpec;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }
}  // namespace

TEST(CaseController, EachOfThe15SubsetsSetsTheModalityBar) {
  const fs::path root = test::scratch_dir("subsets");
  for (SubsetMask s : all_subsets()) {
    TinyCaseSpec spec;
    spec.size = {12, 14, 10};
    spec.tumour = {5, 6, 5};
    spec.modalities = s;
    spec.with_seg = false;
    const std::string id = "case_" + subset_keys(s);
    const fs::path dir = test::write_tiny_case(root, id, spec);

    CaseController c;
    ModalityBar bar(&c);
    QSignalSpy changed(&c, &CaseController::caseChanged);
    ASSERT_TRUE(c.openFolder(qs(dir))) << c.lastError().toStdString();
    EXPECT_EQ(changed.count(), 1);
    EXPECT_EQ(c.present(), s) << subset_name(s);
    EXPECT_EQ(c.selected(), s) << "every present modality is ticked by default";
    ModalityBarModel* model = c.barModel();
    ASSERT_EQ(model->rowCount(), 4);
    for (int m = 0; m < kNumModalities; ++m) {
      const QModelIndex i = model->index(m);
      const bool present = subset_has(s, m);
      EXPECT_EQ(model->data(i, Qt::DisplayRole).toString().toStdString(), std::string(modality_display(m)));
      EXPECT_EQ(model->data(i, ModalityBarModel::PresentRole).toBool(), present) << subset_name(s) << " m=" << m;
      EXPECT_EQ(model->data(i, ModalityBarModel::SelectedRole).toBool(), present);
      EXPECT_EQ(model->data(i, Qt::CheckStateRole).toInt(), present ? Qt::Checked : Qt::Unchecked);
      EXPECT_EQ(model->flags(i).testFlag(Qt::ItemIsEnabled), present);
      const QString file = model->data(i, ModalityBarModel::FileNameRole).toString();
      if (present) {
        EXPECT_EQ(file.toStdString(), id + "_" + std::string(modality_key(m)) + ".nii.gz");
        const QString tip = model->data(i, Qt::ToolTipRole).toString();
        EXPECT_TRUE(tip.contains(file)) << tip.toStdString();
        EXPECT_TRUE(tip.contains("12 x 14 x 10")) << tip.toStdString();
        EXPECT_TRUE(tip.contains("spacing 1 x 1 x 1 mm")) << tip.toStdString();
        EXPECT_EQ(bar.chipText(m).isEmpty(), false);
        EXPECT_NE(bar.chipText(m), "absent");
        EXPECT_TRUE(bar.useBox(m)->isEnabled());
        EXPECT_TRUE(bar.useBox(m)->isChecked());
      } else {
        EXPECT_TRUE(file.isEmpty());
        EXPECT_EQ(bar.chipText(m), "absent");
        EXPECT_FALSE(bar.useBox(m)->isEnabled());
        EXPECT_FALSE(bar.useBox(m)->isChecked());
      }
    }
    // exactly one displayed modality, a present one (FLAIR preferred, then T1ce, T2, T1)
    int shown = 0;
    for (int m = 0; m < kNumModalities; ++m) shown += model->data(model->index(m), ModalityBarModel::DisplayedRole).toBool();
    EXPECT_EQ(shown, 1);
    EXPECT_TRUE(subset_has(s, c.displayed()));
    for (int m : {0, 2, 3, 1}) {
      if (subset_has(s, m)) {
        EXPECT_EQ(c.displayed(), m) << subset_name(s);
        break;
      }
    }
  }
}

TEST(CaseController, UntickingChangesTheSelectionButNotPresence) {
  const fs::path root = test::scratch_dir("untick");
  const fs::path dir = test::write_tiny_case(root, "c1");
  CaseController c;
  ModalityBar bar(&c);
  ASSERT_TRUE(c.openFolder(qs(dir)));
  QSignalSpy sel(&c, &CaseController::selectionChanged);
  bar.useBox(1)->setChecked(false);  // user unticks T1 in the bar
  EXPECT_EQ(c.selected(), parse_subset("flair,t1ce,t2"));
  EXPECT_EQ(c.present(), kFullMask);
  EXPECT_EQ(sel.count(), 1);
  // through the model as a view would
  ASSERT_TRUE(c.barModel()->setData(c.barModel()->index(3), Qt::Unchecked, Qt::CheckStateRole));
  EXPECT_EQ(c.selected(), parse_subset("flair,t1ce"));
  EXPECT_FALSE(c.barModel()->data(c.barModel()->index(3), ModalityBarModel::SelectedRole).toBool());
  EXPECT_FALSE(bar.useBox(3)->isChecked());
  // an absent modality cannot be ticked
  c.setSelected(kFullMask);
  EXPECT_EQ(c.selected(), kFullMask);
  // displayed modality switch through the model
  ASSERT_TRUE(c.barModel()->setData(c.barModel()->index(2), true, ModalityBarModel::DisplayedRole));
  EXPECT_EQ(c.displayed(), 2);
}

TEST(CaseController, SortsFilesByName) {
  EXPECT_EQ(classify_file_name("BraTS_001_flair.nii.gz"), 0);
  EXPECT_EQ(classify_file_name("/x/y/BraTS_001_T1.nii"), 1);
  EXPECT_EQ(classify_file_name("BraTS_001_t1ce.nii.gz"), 2);
  EXPECT_EQ(classify_file_name("BraTS-GLI-00001-000-t1c.nii.gz"), 2);
  EXPECT_EQ(classify_file_name("BraTS-GLI-00001-000-t2f.nii.gz"), 0);
  EXPECT_EQ(classify_file_name("p_T2.NII.GZ"), 3);
  EXPECT_EQ(classify_file_name("p_seg.nii.gz"), kSegSlot);
  EXPECT_EQ(classify_file_name("scan.nii.gz"), -1);
  EXPECT_EQ(classify_file_name("p_t1.png"), -1);
  EXPECT_EQ(classify_file_name(".p_t1.nii.gz"), -1);
  const FileSorting s = sort_files({"/a/p_flair.nii.gz", "/a/p_t2.nii.gz", "/a/mystery.nii.gz", "/a/notes.txt",
                                    "/a/q_t2.nii.gz", "/a/p_seg.nii.gz"});
  EXPECT_EQ(s.modality[0], "/a/p_flair.nii.gz");
  EXPECT_EQ(s.modality[3], "/a/p_t2.nii.gz");
  EXPECT_TRUE(s.modality[1].isEmpty());
  EXPECT_EQ(s.seg, "/a/p_seg.nii.gz");
  EXPECT_EQ(s.unknown, QStringList{"/a/mystery.nii.gz"});
  EXPECT_EQ(s.ignored, QStringList{"/a/notes.txt"});
  ASSERT_EQ(s.conflicts.size(), 1);
  EXPECT_TRUE(s.conflicts.front().contains("q_t2.nii.gz")) << s.conflicts.front().toStdString();
}

TEST(CaseController, FilesWithUnclearNamesAreAssignedByHand) {
  const fs::path root = test::scratch_dir("assign");
  TinyCaseSpec spec;
  spec.modalities = parse_subset("flair,t1ce");
  const fs::path dir = test::write_tiny_case(root, "c", spec);
  // a T2 image whose name does not say so
  fs::copy_file(dir / "c_flair.nii.gz", root / "scan_0003.nii.gz");
  CaseController c;
  QSignalSpy errors(&c, &CaseController::errorOccurred);
  const QStringList files{qs(dir / "c_flair.nii.gz"), qs(dir / "c_t1ce.nii.gz"), qs(root / "scan_0003.nii.gz")};
  EXPECT_FALSE(c.openFiles(files));
  ASSERT_EQ(errors.count(), 1);
  const QString msg = errors.front().at(1).toString();
  EXPECT_TRUE(msg.contains("scan_0003.nii.gz")) << msg.toStdString();
  EXPECT_TRUE(msg.contains("assign")) << msg.toStdString();
  EXPECT_FALSE(c.hasCase());

  ASSERT_TRUE(c.openFiles(files, {{qs(root / "scan_0003.nii.gz"), 3}})) << c.lastError().toStdString();
  EXPECT_EQ(c.present(), parse_subset("flair,t1ce,t2"));
  EXPECT_EQ(c.slot(3).file_name, "scan_0003.nii.gz");
  EXPECT_EQ(c.caseId(), "c");

  // assign T1 by hand to the open case
  fs::copy_file(dir / "c_flair.nii.gz", root / "other.nii.gz");
  ASSERT_TRUE(c.assignFile(1, qs(root / "other.nii.gz"))) << c.lastError().toStdString();
  EXPECT_EQ(c.present(), kFullMask);
  EXPECT_EQ(c.slot(1).file_name, "other.nii.gz");
  EXPECT_TRUE(subset_has(c.selected(), 1)) << "a newly assigned modality is ticked";
  // remove it again; the last modality cannot be removed
  ASSERT_TRUE(c.removeModality(1));
  EXPECT_EQ(c.present(), parse_subset("flair,t1ce,t2"));
}

TEST(CaseController, BadInputsGiveNamedErrorsAndKeepTheOpenCase) {
  const fs::path root = test::scratch_dir("bad");
  const fs::path good = test::write_tiny_case(root, "good");
  CaseController c;
  QSignalSpy errors(&c, &CaseController::errorOccurred);
  ASSERT_TRUE(c.openFolder(qs(good)));
  const auto before = c.currentCase();

  auto last_message = [&] { return errors.back().at(1).toString().toStdString(); };

  // 1. folder does not exist
  EXPECT_FALSE(c.openFolder(qs(root / "nope")));
  EXPECT_NE(last_message().find((root / "nope").string()), std::string::npos) << last_message();
  EXPECT_NE(last_message().find("not found"), std::string::npos) << last_message();

  // 2. folder without any modality image
  fs::create_directories(root / "empty");
  { std::ofstream(root / "empty" / "readme.txt") << "nothing here"; }
  EXPECT_FALSE(c.openFolder(qs(root / "empty")));
  EXPECT_NE(last_message().find("no modality"), std::string::npos) << last_message();

  // 3. mismatched geometry: T2 with another size
  TinyCaseSpec a;
  a.modalities = parse_subset("flair,t1");
  const fs::path mism = test::write_tiny_case(root, "mism", a);
  TinyCaseSpec b;
  b.size = {40, 48, 30};
  b.modalities = parse_subset("t2");
  b.with_seg = false;
  const fs::path other = test::write_tiny_case(root, "other", b);
  // ... far from the others in scanner coordinates: not of this session, said with the file's name
  Image t2 = io::read_image(other / "other_t2.nii.gz");
  t2.geom.origin[2] += 500.0;
  io::write_image(mism / "mism_t2.nii.gz", t2);
  EXPECT_FALSE(c.openFolder(qs(mism)));
  EXPECT_NE(last_message().find("mism_t2.nii.gz"), std::string::npos) << last_message();
  EXPECT_NE(last_message().find("barely overlaps"), std::string::npos) << last_message();

  // 4. unreadable file
  const fs::path corrupt = root / "corrupt";
  fs::create_directories(corrupt);
  { std::ofstream(corrupt / "corrupt_t1.nii.gz") << "this is not a NIfTI file"; }
  EXPECT_FALSE(c.openFolder(qs(corrupt)));
  EXPECT_NE(last_message().find("corrupt_t1.nii.gz"), std::string::npos) << last_message();

  // 5. a segmentation with labels that are not BraTS labels
  const fs::path badseg = test::write_tiny_case(root, "badseg");
  {
    const LabelMap l = test::tiny_labels({});
    Image asfloat;
    asfloat.geom = l.geom;
    asfloat.voxels.assign(l.voxels.begin(), l.voxels.end());
    asfloat.voxels[10] = 7.0f;
    io::write_image(badseg / "badseg_seg.nii.gz", asfloat);
  }
  EXPECT_FALSE(c.openFolder(qs(badseg)));
  EXPECT_NE(last_message().find("badseg_seg.nii.gz"), std::string::npos) << last_message();

  // 6. files that are not images
  { std::ofstream(root / "notes.txt") << "x"; }
  EXPECT_FALSE(c.openFiles({qs(root / "notes.txt")}));
  EXPECT_NE(last_message().find("notes.txt"), std::string::npos) << last_message();
  EXPECT_NE(last_message().find("not a NIfTI"), std::string::npos) << last_message();

  // nothing was lost: the good case is still loaded, unchanged
  EXPECT_EQ(errors.count(), 6);
  EXPECT_EQ(c.currentCase(), before);
  EXPECT_EQ(c.caseId(), "good");
  EXPECT_EQ(c.present(), kFullMask);
}

TEST(RecentCases, KeepsMostRecentFirstWithoutDuplicates) {
  const fs::path root = test::scratch_dir("recent");
  QSettings settings(qs(root / "recent.ini"), QSettings::IniFormat);
  RecentCases r(&settings, 3);
  for (const char* n : {"a", "b", "c", "d"}) fs::create_directories(root / n);
  r.add(qs(root / "a"));
  r.add(qs(root / "b"));
  r.add(qs(root / "a"));
  EXPECT_EQ(r.list(), (QStringList{qs(root / "a"), qs(root / "b")}));
  r.add(qs(root / "c"));
  r.add(qs(root / "d"));
  EXPECT_EQ(r.list(), (QStringList{qs(root / "d"), qs(root / "c"), qs(root / "a")}));
  fs::remove_all(root / "c");  // vanished folders are not offered
  EXPECT_EQ(r.list(), (QStringList{qs(root / "d"), qs(root / "a")}));
  RecentCases again(&settings, 3);  // persisted
  EXPECT_EQ(again.list().size(), 2);
  r.clear();
  EXPECT_TRUE(r.list().isEmpty());
}

TEST(CaseController, AsyncLoadingReadsOnAWorkerAndReportsErrors) {
  const fs::path root = test::scratch_dir("async");
  TinyCaseSpec spec;
  spec.modalities = parse_subset("t1,t1ce");
  const fs::path good = test::write_tiny_case(root, "ag", spec);
  CaseController c;
  QSignalSpy loading(&c, &CaseController::loadingChanged);
  QSignalSpy loaded(&c, &CaseController::loaded);
  QSignalSpy changed(&c, &CaseController::caseChanged);
  ASSERT_TRUE(c.openFolderAsync(qs(good)));
  EXPECT_TRUE(c.isLoading());
  EXPECT_FALSE(c.hasCase()) << "the images are read later, on the worker";
  EXPECT_FALSE(c.openFolderAsync(qs(good))) << "one load at a time";
  ASSERT_TRUE(c.waitForLoaded(10000));
  EXPECT_EQ(changed.count(), 1);
  ASSERT_EQ(loaded.count(), 1);
  EXPECT_TRUE(loaded.front().at(0).toBool());
  ASSERT_EQ(loading.count(), 2);
  EXPECT_TRUE(loading.at(0).at(0).toBool());
  EXPECT_FALSE(loading.at(1).at(0).toBool());
  EXPECT_EQ(c.present(), parse_subset("t1,t1ce"));
  EXPECT_EQ(c.displayed(), 2) << "T1ce is shown when there is no FLAIR";

  // an unreadable image: the error names it, the open case stays
  const fs::path bad = root / "ab";
  fs::create_directories(bad);
  fs::copy_file(good / "ag_t1.nii.gz", bad / "ab_t1.nii.gz");
  { std::ofstream(bad / "ab_t2.nii.gz") << "garbage"; }
  QSignalSpy errors(&c, &CaseController::errorOccurred);
  ASSERT_TRUE(c.openFolderAsync(qs(bad)));
  ASSERT_TRUE(c.waitForLoaded(10000));
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.front().at(1).toString().contains("ab_t2.nii.gz")) << errors.front().at(1).toString().toStdString();
  EXPECT_FALSE(loaded.back().at(0).toBool());
  EXPECT_EQ(c.caseId(), "ag");
  // a folder holding no case: found out on the worker (not on the UI thread), said the same way
  const fs::path empty = root / "nothing_here";
  fs::create_directories(empty);
  ASSERT_TRUE(c.openFolderAsync(qs(empty)));
  ASSERT_TRUE(c.waitForLoaded(10000));
  ASSERT_EQ(errors.count(), 2);
  EXPECT_TRUE(errors.back().at(1).toString().contains("nothing_here")) << errors.back().at(1).toString().toStdString();
  EXPECT_EQ(c.caseId(), "ag");
  // files, asynchronously
  ASSERT_TRUE(c.openFilesAsync({qs(good / "ag_t1.nii.gz")}));
  ASSERT_TRUE(c.waitForLoaded(10000));
  EXPECT_EQ(c.present(), parse_subset("t1"));
}

// A DICOM folder (issue 15): the series' proposals make the case, on a worker like any other; how it was read is
// kept for the status line; a folder whose series name no modality is a named error.
TEST(CaseController, OpensADicomFolderFromTheSeriesDescriptions) {
  const fs::path root = test::scratch_dir("dicom");
  TinyCaseSpec spec;
  spec.modalities = parse_subset("flair,t1ce");
  spec.with_seg = false;
  const fs::path nifti = test::write_tiny_case(root, "dn", spec);
  const fs::path dicom = root / "dicom";
  gmd::Image flair = gmd::io::read_image(nifti / "dn_flair.nii.gz"), t1ce = gmd::io::read_image(nifti / "dn_t1ce.nii.gz");
  for (auto* img : {&flair, &t1ce})
    for (float& v : img->voxels) v *= 100.0f;  // DICOM stores integers
  gmd::io::write_dicom_series(flair, dicom / "1", "AX FLAIR", "1.2.826.0.1.3680043.9.10.1", "1.2.826.0.1.3680043.9.10");
  gmd::io::write_dicom_series(t1ce, dicom / "2", "AX T1 +C", "1.2.826.0.1.3680043.9.10.2", "1.2.826.0.1.3680043.9.10");
  CaseController c;
  ASSERT_TRUE(c.openFolderAsync(qs(dicom)));
  ASSERT_TRUE(c.waitForLoaded(20000));
  ASSERT_TRUE(c.hasCase()) << c.lastError().toStdString();
  EXPECT_EQ(c.present(), parse_subset("flair,t1ce"));
  EXPECT_EQ(c.currentCase()->geom.size, flair.geom.size);
  EXPECT_TRUE(c.inputNotes().join("\n").contains("T1ce: series 'AX T1 +C'")) << c.inputNotes().join("\n").toStdString();
  EXPECT_EQ(c.slot(2).file_name.toStdString(), "AX T1 +C, " + std::to_string(t1ce.geom.size[2]) + " slices");
  // The synchronous path too; then a NIfTI case has no notes.
  CaseController d;
  ASSERT_TRUE(d.openFolder(qs(dicom))) << d.lastError().toStdString();
  EXPECT_EQ(d.present(), parse_subset("flair,t1ce"));
  ASSERT_TRUE(d.openFolder(qs(nifti)));
  EXPECT_TRUE(d.inputNotes().isEmpty());
  // Series that name no modality: a question (which is which?), not a silent guess; answered, the case opens.
  gmd::io::write_dicom_series(flair, root / "unnamed" / "1", "Series 7", "1.2.826.0.1.3680043.9.11.1",
                              "1.2.826.0.1.3680043.9.11");
  QSignalSpy asked(&d, &CaseController::dicomAssignmentNeeded);
  EXPECT_FALSE(d.openFolder(qs(root / "unnamed")));
  EXPECT_TRUE(d.lastError().contains("assign")) << d.lastError().toStdString();
  ASSERT_EQ(asked.count(), 1);
  ASSERT_EQ(d.unassignedSeries().size(), 1u);
  ASSERT_TRUE(d.openDicomFolder(asked.front().at(0).toString(), {{"1.2.826.0.1.3680043.9.11.1", 0}}, false))
      << d.lastError().toStdString();
  EXPECT_EQ(d.present(), parse_subset("flair"));
  EXPECT_TRUE(d.isDicomCase());

  // The user's word over the proposals, from the open case: the FLAIR series as T2, the T1ce kept; then asynchronously.
  ASSERT_TRUE(d.openFolder(qs(dicom)));
  ASSERT_EQ(d.dicomSeries().size(), 2u);
  EXPECT_EQ(d.dicomChosen()[0], "1.2.826.0.1.3680043.9.10.1");
  EXPECT_EQ(d.dicomChosen()[2], "1.2.826.0.1.3680043.9.10.2");
  const std::map<std::string, int> swap{{"1.2.826.0.1.3680043.9.10.1", 3}, {"1.2.826.0.1.3680043.9.10.2", 2}};
  ASSERT_TRUE(d.reassignDicom(swap, false)) << d.lastError().toStdString();
  EXPECT_EQ(d.present(), parse_subset("t1ce,t2"));
  EXPECT_EQ(d.dicomOverrides(), swap);
  EXPECT_EQ(d.dicomChosen()[3], "1.2.826.0.1.3680043.9.10.1");
  EXPECT_TRUE(d.inputNotes().join("\n").contains("T2: series 'AX FLAIR' (as assigned)")) << d.inputNotes().join("\n").toStdString();
  ASSERT_TRUE(d.reassignDicom({{"1.2.826.0.1.3680043.9.10.1", -1}}, true));
  ASSERT_TRUE(d.waitForLoaded(20000));
  EXPECT_EQ(d.present(), parse_subset("t1ce"));
  // A NIfTI case has no series to reassign.
  ASSERT_TRUE(d.openFolder(qs(nifti)));
  EXPECT_FALSE(d.isDicomCase());
  EXPECT_FALSE(d.reassignDicom(swap, false));
}

// The series dialog: rows start from the case's choice, a modality given twice or nothing used is refused in words,
// the assignment names every series.
TEST(DicomSeriesDialog, StartsFromTheChoiceAndRefusesContradictions) {
  std::vector<gmd::io::DicomSeries> series(3);
  const char* names[] = {"AX FLAIR", "T1 +C", "Series 9"};
  for (int i = 0; i < 3; ++i) {
    series[static_cast<size_t>(i)].uid = "1.2." + std::to_string(i + 1);
    series[static_cast<size_t>(i)].description = names[i];
    series[static_cast<size_t>(i)].files = {"a", "b", "c"};
  }
  series[0].proposed = 0;
  series[1].proposed = 2;
  DicomSeriesDialog dlg(series, {"1.2.1", "", "1.2.2", ""});
  ASSERT_EQ(dlg.rows(), 3);
  EXPECT_EQ(dlg.choice(0), 0);
  EXPECT_EQ(dlg.choice(1), 2);
  EXPECT_EQ(dlg.choice(2), -1);
  EXPECT_EQ(dlg.problem(), QString());
  dlg.setChoice(2, 2);  // a second T1ce
  EXPECT_TRUE(dlg.problem().contains("T1ce is given to two series")) << dlg.problem().toStdString();
  dlg.setChoice(1, 3);
  EXPECT_EQ(dlg.problem(), QString());
  const auto a = dlg.assignment();
  EXPECT_EQ(a, (std::map<std::string, int>{{"1.2.1", 0}, {"1.2.2", 3}, {"1.2.3", 2}}));
  for (int r = 0; r < 3; ++r) dlg.setChoice(r, -1);
  EXPECT_TRUE(dlg.problem().contains("No series is used"));
}

// Files on grids of their own (converted one series at a time): the loader registers them onto the reference on its
// worker, reports its progress while doing it, and says what it did.
TEST(CaseController, RegistersFilesOnAnotherGridWithProgress) {
  const fs::path root = test::scratch_dir("register");
  TinyCaseSpec spec;
  spec.modalities = parse_subset("flair,t1ce");
  spec.with_seg = false;
  const fs::path dir = test::write_tiny_case(root, "rg", spec);
  gmd::Image flair = gmd::io::read_image(dir / "rg_flair.nii.gz");
  gmd::Geometry other = flair.geom;
  other.spacing = {1.25, 1.25, 1.5};
  other.size = {34, 40, 24};
  gmd::io::write_image(dir / "rg_flair.nii.gz", gmd::io::resample_linear(flair, other));
  CaseController c;
  QSignalSpy progress(&c, &CaseController::loadProgress);
  ASSERT_TRUE(c.openFolderAsync(qs(dir)));
  ASSERT_TRUE(c.waitForLoaded(30000));
  ASSERT_TRUE(c.hasCase()) << c.lastError().toStdString();
  EXPECT_EQ(c.present(), parse_subset("flair,t1ce"));
  EXPECT_EQ(c.currentCase()->geom.size, (std::array<size_t, 3>{40, 48, 32})) << "the T1ce grid";
  EXPECT_TRUE(c.currentCase()->registration[0].has_value());
  EXPECT_TRUE(c.inputNotes().join("\n").contains("FLAIR: registered rigidly onto T1ce")) << c.inputNotes().join("\n").toStdString();
  bool registering = false;
  for (const auto& p : progress) registering = registering || p.at(0).toString().contains("registering FLAIR onto T1ce");
  EXPECT_TRUE(registering) << progress.count() << " progress signals";
}
