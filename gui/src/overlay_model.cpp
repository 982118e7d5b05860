#include "gmd/gui/overlay_model.hpp"

#include <QDateTime>
#include <algorithm>

#include "gmd/common/error.hpp"
#include "gmd/common/viewer_files.hpp"
#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/qtext.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/io/dicom_seg.hpp"
#include "gmd/pipeline/trust.hpp"

namespace gmd::gui {

OverlayModel::OverlayModel(const CaseController* cases, const SegmentationController* seg, QObject* parent)
    : QObject(parent), cases_(cases), seg_(seg) {}

bool OverlayModel::hasSegmentation() const {
  return seg_->result() && seg_->resultCase() && seg_->resultCase() == cases_->currentCase();
}

bool OverlayModel::hasReference() const {
  const auto c = cases_->currentCase();
  return c && c->seg.has_value();
}

bool OverlayModel::hasAgreement() const { return hasSegmentation() && seg_->result()->agreement.has_value(); }

bool OverlayModel::setSource(Source s) {
  if (s == Source::Segmentation && !hasSegmentation()) return false;
  if (s == Source::Reference && !hasReference()) return false;
  if (s == Source::Agreement && !hasAgreement()) return false;
  source_ = s;
  apply();
  return true;
}

void OverlayModel::setAgreementRegion(int region) {
  if (region < 0 || region > 2 || region == agreement_region_) return;
  agreement_region_ = region;
  if (source_ == Source::Agreement) apply();
  else Q_EMIT styleChanged();
}

void OverlayModel::setStyle(const viz::OverlayStyle& style) {
  style_ = style;
  Q_EMIT styleChanged();
}

viz::OverlayStyle OverlayModel::viewStyle() const {
  viz::OverlayStyle s = style_;
  if (source_ == Source::Agreement) s.mode = viz::OverlayMode::Agreement;  // the toggles still apply
  return s;
}

const LabelMap* OverlayModel::shownLabels() const {
  switch (source_) {
    case Source::Segmentation:
    case Source::Agreement: return hasSegmentation() ? &seg_->result()->labels : nullptr;
    case Source::Reference: return hasReference() ? &*cases_->currentCase()->seg : nullptr;
    default: return nullptr;
  }
}

void OverlayModel::drawLabels(const std::function<void(const LabelMap*)>& draw) const {
  if (source_ == Source::Agreement && hasAgreement()) {
    const LabelMap bins = pipeline::agreement_bins(*seg_->result()->agreement, agreement_region_);
    draw(&bins);
  } else {
    draw(shownLabels());
  }
}

void OverlayModel::apply() {
  if (source_ == Source::Agreement && !hasAgreement()) source_ = Source::Segmentation;
  Q_EMIT labelsChanged();
}

void OverlayModel::resetForCase() {
  source_ = hasSegmentation() ? Source::Segmentation : hasReference() ? Source::Reference : Source::None;
  apply();
}

void OverlayModel::showSegmentation() {
  source_ = Source::Segmentation;
  apply();
}

std::optional<Report> OverlayModel::report() const {
  const LabelMap* labels = shownLabels();
  const auto c = cases_->currentCase();
  if (!labels || !c) return std::nullopt;
  Report r;
  r.case_id = c->id;
  r.case_folder = cases_->caseFolder().toStdString();
  r.present = c->present();
  r.size = labels->geom.size;
  r.spacing = labels->geom.spacing;
  r.created = QDateTime::currentDateTime().toString(Qt::ISODate).toStdString();
  if (source_ == Source::Segmentation || source_ == Source::Agreement) {
    const auto s = seg_->result();
    r.source = "segmentation";
    r.used = s->used;
    r.model_name = seg_->resultModelName().toStdString();
    r.model_path = seg_->resultModelPath().toStdString();
    r.device = s->device;
    r.seconds = s->seconds;
    r.region_ml = s->region_ml;
    r.label_ml = s->label_ml;
    r.trust = s->trust;
    if (s->agreement) r.agreement = pipeline::agreement_json(*s->agreement);
  } else {
    r.source = "reference";
    r.region_ml = pipeline::region_volumes_ml(*labels);
    r.label_ml = pipeline::label_volumes_ml(*labels);
  }
  return r;
}

QString OverlayModel::exportLabels(const QString& path, QString* done) const {
  const LabelMap* labels = shownLabels();
  if (!labels) return "There is no segmentation to export: segment the case first.";
  try {
    write_label_map(path, *labels);
    // With the files that make ITK-SNAP and 3D Slicer show our names and colours (ET as the map writes it: 3 for a
    // BraTS 2023 reference, else 4).
    const bool et3 = std::find(labels->voxels.begin(), labels->voxels.end(), 3) != labels->voxels.end();
    const ViewerFiles viewer = write_viewer_files(path.toStdString(), Palette::builtin(), et3 ? 3 : 4);
    if (done)
      *done = QString("Label map written to %1 (with %2 for ITK-SNAP and %3 for 3D Slicer)")
                  .arg(path, q(viewer.itksnap.filename().string()), q(viewer.slicer.filename().string()));
    return {};
  } catch (const std::exception& e) {
    return q(e.what());
  }
}

QString OverlayModel::exportReport(const QString& path, QString* done) const {
  const auto r = report();
  if (!r) return "There is no segmentation to report: segment the case first.";
  try {
    if (path.toLower().endsWith(".json")) write_report_json(path, *r);
    else if (path.toLower().endsWith(".csv")) write_report_csv(path, *r);
    else throw InputError(path.toStdString() + ": choose a .csv or .json file name");
    if (done) *done = QString("Report written to %1").arg(path);
    return {};
  } catch (const std::exception& e) {
    return q(e.what());
  }
}

QString OverlayModel::exportAgreement(const QString& path, QString* done) const {
  if (!hasAgreement())
    return "This segmentation has no subset agreement maps: tick 'Map subset agreement' in the Segment panel and "
           "segment again.";
  try {
    const auto files = pipeline::write_agreement(*seg_->result()->agreement, pipeline::agreement_base(path.toStdString()));
    if (done)
      *done = QString("Agreement maps written: %1").arg(q(files.front())).replace("_WT.nii.gz", "_{WT,TC,ET}.nii.gz");
    return {};
  } catch (const std::exception& e) {
    return q(e.what());
  }
}

bool OverlayModel::canExportDicomSeg() const {
  const auto c = cases_->currentCase();
  return shownLabels() != nullptr && c && !c->files.series_files[io::reference_modality(c->present())].empty();
}

QString OverlayModel::exportDicomSeg(const QString& path, QString* done) const {
  const LabelMap* labels = shownLabels();
  if (!labels) return "There is no segmentation to export: segment the case first.";
  const auto c = cases_->currentCase();
  const int ref = c ? io::reference_modality(c->present()) : -1;
  if (ref < 0 || c->files.series_files[ref].empty())
    return "This case was not read from DICOM series, so a DICOM SEG has no series to refer to: export a label map.";
  try {
    io::DicomSegOptions o;
    o.colours = Palette::builtin().label;
    for (int l = 0; l < 3; ++l) o.names[l] = kLabelNames[l];
    if (seg_ && seg_->result()) o.algorithm_version = "segmented with " + subset_name(seg_->result()->used);
    io::write_dicom_seg(*labels, c->files.series_files[ref], path.toStdString(), o);
    if (done)
      *done = QString("DICOM SEG written to %1 (referring to the %2 series)").arg(path, q(std::string(modality_display(ref))));
    return {};
  } catch (const std::exception& e) {
    return q(e.what());
  }
}

}  // namespace gmd::gui
