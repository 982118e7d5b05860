#pragma once
// Exports of the studio: label map NIfTI (BraTS labels, input geometry, io::write_labels), report CSV / JSON
// (the report is core's pipeline::SegmentationReport, the document `gmd segment --report` writes).
#include <QString>

#include "gmd/common/image.hpp"
#include "gmd/pipeline/report.hpp"

namespace gmd::gui {

// The report itself is core's (gmd segment --report writes the same document).
using Report = pipeline::SegmentationReport;

// The expected accuracy for the panels (rich text): per region the expected Dice, its flag in colour and the missing
// sequence that would help most; "not evaluated" with the reason when the model has no table.
QString expected_accuracy_html(const pipeline::Trust& t);

// Atomic writes; throw gmd::InputError naming the file on failure.
void write_report_json(const QString& path, const Report& r);
void write_report_csv(const QString& path, const Report& r);
void write_label_map(const QString& path, const LabelMap& labels);  // .nii / .nii.gz

}  // namespace gmd::gui
