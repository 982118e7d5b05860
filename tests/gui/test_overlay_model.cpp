// OverlayModel without a window: which label map is shown after a case, a segmentation and a source choice, the
// enable rules of the exports, the agreement bins drawn for the chosen region, the report and the exports.
#include <gtest/gtest.h>

#include <QSignalSpy>
#include <filesystem>
#include <tuple>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/overlay_model.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/dicom_seg.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/pipeline/trust.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using namespace gmd::gui;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }

// A fake segmenter: the reference grown by nothing (the reference itself) with agreement maps made from two
// "subsets" (the reference, and nothing), so that every tumour voxel has agreement 0.5.
pipeline::Segmentation fake(const io::Case& c, SubsetMask use, bool agreement) {
  pipeline::Segmentation s;
  s.labels = *c.seg;
  s.used = use;
  s.device = "cpu";
  s.region_ml = pipeline::region_volumes_ml(s.labels);
  s.label_ml = pipeline::label_volumes_ml(s.labels);
  if (agreement) {
    LabelMap empty = s.labels;
    std::fill(empty.voxels.begin(), empty.voxels.end(), std::uint8_t{0});
    s.agreement = pipeline::agreement_from_labels({s.labels, empty}, use);
    pipeline::summarise_agreement(*s.agreement, s.labels);
  }
  return s;
}
}  // namespace

TEST(OverlayModel, FollowsTheCaseAndTheSegmentationAndSaysWhatCanBeExported) {
  const fs::path root = test::scratch_dir("overlay_model");
  CaseController cases;
  SegmentationController seg(nullptr);
  OverlayModel overlay(&cases, &seg);
  QSignalSpy labels_changed(&overlay, &OverlayModel::labelsChanged);
  QSignalSpy style_changed(&overlay, &OverlayModel::styleChanged);

  EXPECT_EQ(overlay.source(), OverlayModel::Source::None);
  EXPECT_FALSE(overlay.canExportLabels() || overlay.canExportReport() || overlay.canExportAgreement());
  EXPECT_FALSE(overlay.report().has_value());
  EXPECT_FALSE(overlay.exportLabels(qs(root / "none.nii.gz")).isEmpty());  // says why
  EXPECT_FALSE(fs::exists(root / "none.nii.gz"));

  // A case with a reference: the reference is shown and can be exported, the segmentation and agreement cannot.
  ASSERT_TRUE(cases.openFolder(qs(test::write_tiny_case(root, "c"))));
  overlay.resetForCase();
  EXPECT_EQ(overlay.source(), OverlayModel::Source::Reference);
  ASSERT_NE(overlay.shownLabels(), nullptr);
  EXPECT_EQ(overlay.shownLabels(), &*cases.currentCase()->seg);
  EXPECT_TRUE(overlay.canExportLabels() && overlay.canExportReport());
  EXPECT_FALSE(overlay.canExportAgreement());
  EXPECT_FALSE(overlay.setSource(OverlayModel::Source::Segmentation));
  EXPECT_FALSE(overlay.setSource(OverlayModel::Source::Agreement));
  EXPECT_EQ(overlay.source(), OverlayModel::Source::Reference);
  EXPECT_EQ(overlay.report()->source, "reference");

  // A segmentation with agreement maps: shown; the agreement source draws the region's bins, reports and exports
  // stay the segmentation's.
  seg.setSegmentFunction([](const io::Case& c, SubsetMask use, const pipeline::Progress&) { return fake(c, use, true); });
  ASSERT_TRUE(seg.start(cases.currentCase(), kFullMask));
  ASSERT_TRUE(seg.waitForFinished(20000));
  overlay.showSegmentation();
  EXPECT_EQ(overlay.source(), OverlayModel::Source::Segmentation);
  EXPECT_EQ(overlay.shownLabels(), &seg.result()->labels);
  EXPECT_TRUE(overlay.canExportAgreement());
  const int before = static_cast<int>(labels_changed.count());
  ASSERT_TRUE(overlay.setSource(OverlayModel::Source::Agreement));
  EXPECT_EQ(labels_changed.count(), before + 1);
  EXPECT_EQ(overlay.viewStyle().mode, viz::OverlayMode::Agreement);
  EXPECT_NE(overlay.style().mode, viz::OverlayMode::Agreement);  // the user's style is kept for the other sources
  EXPECT_EQ(overlay.shownLabels(), &seg.result()->labels);
  const LabelMap expected_tc = pipeline::agreement_bins(*seg.result()->agreement, 1);
  overlay.setAgreementRegion(1);
  EXPECT_EQ(labels_changed.count(), before + 2);
  bool drew = false;
  overlay.drawLabels([&](const LabelMap* l) {
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->voxels, expected_tc.voxels);
    drew = true;
  });
  EXPECT_TRUE(drew);
  EXPECT_EQ(overlay.report()->source, "segmentation");
  EXPECT_FALSE(overlay.report()->agreement.is_null());

  QString done;
  EXPECT_TRUE(overlay.exportLabels(qs(root / "seg.nii.gz"), &done).isEmpty());
  EXPECT_TRUE(fs::exists(root / "seg.nii.gz"));
  EXPECT_TRUE(done.contains("seg.nii.gz"));
  // With the viewer files next to it (ITK-SNAP label description, 3D Slicer colour table), named in the status.
  EXPECT_TRUE(fs::exists(root / "seg_itksnap_labels.txt"));
  EXPECT_TRUE(fs::exists(root / "seg_slicer_colors.ctbl"));
  EXPECT_TRUE(done.contains("seg_itksnap_labels.txt")) << done.toStdString();
  EXPECT_TRUE(overlay.exportReport(qs(root / "report.json")).isEmpty());
  EXPECT_TRUE(fs::exists(root / "report.json"));
  EXPECT_FALSE(overlay.exportReport(qs(root / "report.txt")).isEmpty());  // .csv or .json only
  EXPECT_FALSE(fs::exists(root / "report.txt"));
  EXPECT_TRUE(overlay.exportAgreement(qs(root / "agree.nii.gz")).isEmpty());
  EXPECT_TRUE(fs::exists(root / "agree_WT.nii.gz") && fs::exists(root / "agree_ET.nii.gz"));

  // Out-of-range regions are ignored; a region change under another source only restyles.
  overlay.setAgreementRegion(7);
  EXPECT_EQ(overlay.agreementRegion(), 1);
  ASSERT_TRUE(overlay.setSource(OverlayModel::Source::Reference));
  const int styles = static_cast<int>(style_changed.count());
  overlay.setAgreementRegion(2);
  EXPECT_EQ(style_changed.count(), styles + 1);

  // A new case: its reference again, the old segmentation is not shown for it.
  seg.clearResult();
  ASSERT_TRUE(cases.openFolder(qs(test::write_tiny_case(root, "d"))));
  overlay.resetForCase();
  EXPECT_EQ(overlay.source(), OverlayModel::Source::Reference);
  EXPECT_FALSE(overlay.hasSegmentation());
  EXPECT_FALSE(overlay.canExportAgreement());
}

// A case read from DICOM series can be exported as a DICOM SEG referring to its reference series; a NIfTI case cannot,
// and the export says why.
TEST(OverlayModel, ExportsADicomSegForACaseReadFromDicom) {
  const fs::path root = test::scratch_dir("overlay_dicom_seg");
  test::TinyCaseSpec spec;
  spec.modalities = parse_subset("flair,t1ce");
  const fs::path nifti = test::write_tiny_case(root, "ds", spec);
  for (const auto& [name, desc, uid] : {std::tuple{"ds_flair", "AX FLAIR", "1.2.826.0.1.3680043.9.13.1"},
                                        std::tuple{"ds_t1ce", "AX T1 +C", "1.2.826.0.1.3680043.9.13.2"}}) {
    Image img = io::read_image(nifti / (std::string(name) + ".nii.gz"));
    for (float& v : img.voxels) v *= 100.0f;
    io::write_dicom_series(img, root / "dicom" / name, desc, uid, "1.2.826.0.1.3680043.9.13");
  }
  CaseController cases;
  SegmentationController seg(nullptr);
  OverlayModel overlay(&cases, &seg);
  seg.setSegmentFunction([](const io::Case& c, SubsetMask use, const pipeline::Progress&) {
    pipeline::Segmentation s;
    s.labels = test::tiny_labels({});
    s.labels.geom = c.geom;
    s.used = use;
    s.device = "cpu";
    return s;
  });

  ASSERT_TRUE(cases.openFolder(qs(nifti)));
  overlay.resetForCase();
  EXPECT_FALSE(overlay.canExportDicomSeg()) << "a NIfTI case has no series to refer to";
  EXPECT_TRUE(overlay.exportDicomSeg(qs(root / "nifti.dcm")).contains("not read from DICOM"));
  EXPECT_FALSE(fs::exists(root / "nifti.dcm"));

  ASSERT_TRUE(cases.openFolder(qs(root / "dicom"))) << cases.lastError().toStdString();
  overlay.resetForCase();
  EXPECT_FALSE(overlay.canExportDicomSeg()) << "nothing segmented yet";
  ASSERT_TRUE(seg.start(cases.currentCase(), cases.present()));
  ASSERT_TRUE(seg.waitForFinished(20000));
  overlay.showSegmentation();
  ASSERT_TRUE(overlay.canExportDicomSeg());
  QString done;
  ASSERT_EQ(overlay.exportDicomSeg(qs(root / "seg.dcm"), &done), QString());
  EXPECT_TRUE(done.contains("T1ce series")) << done.toStdString();
  const io::DicomSegInfo info = io::read_dicom_seg(root / "seg.dcm", cases.currentCase()->geom);
  EXPECT_EQ(info.referenced_series_uid, "1.2.826.0.1.3680043.9.13.2");
  EXPECT_EQ(info.labels.voxels, seg.result()->labels.voxels);
}
