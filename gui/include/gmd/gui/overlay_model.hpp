#pragma once
// What the main views overlay, and what the exports write, without widgets (testable without a display; the shape
// of ITK-SNAP's model layer: widgets bind to it, the enable rules live here): the source (the segmentation, the
// case's reference, the segmentation's subset agreement, or none), the overlay style, the agreement region, the
// label map shown, its report, and the exports of the label map, the report and the agreement maps.
#include <QObject>
#include <QString>
#include <functional>
#include <optional>

#include "gmd/gui/report.hpp"
#include "gmd/common/image.hpp"
#include "gmd/viz/palette.hpp"

namespace gmd::gui {

class CaseController;
class SegmentationController;

class OverlayModel : public QObject {
  Q_OBJECT
 public:
  // Agreement: the binned subset-agreement map of the segmentation (pipeline::agreement_bins) for one region;
  // available when the segmentation was run with SegmentOptions::agreement. Reports and label exports stay those
  // of the segmentation.
  enum class Source { None, Segmentation, Reference, Agreement };

  OverlayModel(const CaseController* cases, const SegmentationController* seg, QObject* parent = nullptr);

  Source source() const { return source_; }
  bool setSource(Source s);      // false (and nothing changes) when that source is not available
  bool hasSegmentation() const;  // a segmentation of the current case
  bool hasReference() const;     // the case has a _seg file
  bool hasAgreement() const;     // the segmentation carries subset agreement maps
  int agreementRegion() const { return agreement_region_; }  // 0 WT, 1 TC, 2 ET
  void setAgreementRegion(int region);                       // others are ignored
  const viz::OverlayStyle& style() const { return style_; }
  void setStyle(const viz::OverlayStyle& style);
  viz::OverlayStyle viewStyle() const;  // what the views get: the agreement source has its own colours and bins

  // The label map reported and exported (for the agreement source: the segmentation's); nullptr when none.
  const LabelMap* shownLabels() const;
  // Calls `draw` with the label map the views draw: shownLabels(), or the agreement bins of the region (made for the
  // call; the views copy what they draw, so no second copy is kept here).
  void drawLabels(const std::function<void(const LabelMap*)>& draw) const;
  std::optional<Report> report() const;  // of shownLabels(); nullopt when nothing is shown

  // Enable rules of the exports.
  bool canExportLabels() const { return shownLabels() != nullptr; }
  bool canExportReport() const { return shownLabels() != nullptr; }
  bool canExportAgreement() const { return hasAgreement(); }
  // A DICOM SEG refers to the series the case was read from: only for a case opened from DICOM series.
  bool canExportDicomSeg() const;
  // Exports: "" on success, else the reason in words (naming the file). *done: what was written, for the status bar.
  QString exportLabels(const QString& path, QString* done = nullptr) const;
  QString exportReport(const QString& path, QString* done = nullptr) const;  // .csv or .json by extension
  // The three agreement maps <base>_WT/_TC/_ET.nii.gz (float NIfTI); `path` may end in .nii.gz / .nii (stripped).
  QString exportAgreement(const QString& path, QString* done = nullptr) const;
  // A DICOM SEG object (one segment per label, SNOMED CT codes, the studio's names and colours) referring to the
  // reference series (T1ce, else FLAIR, T1, T2), on whose grid the label map is.
  QString exportDicomSeg(const QString& path, QString* done = nullptr) const;

  // The case changed: show its segmentation if there is one, else its reference, else nothing.
  void resetForCase();
  // A segmentation of the current case finished: show it.
  void showSegmentation();

 Q_SIGNALS:
  void labelsChanged();  // what is drawn changed (source, region of the agreement source, case, result); the report too
  void styleChanged();   // only the style (or the region while another source is shown)

 private:
  void apply();  // the agreement source falls back to the segmentation when its maps are gone
  const CaseController* cases_;
  const SegmentationController* seg_;
  Source source_ = Source::None;
  viz::OverlayStyle style_;
  int agreement_region_ = 0;
};

}  // namespace gmd::gui
