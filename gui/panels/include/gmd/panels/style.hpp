#pragma once
// Colours shared by every chart of the panels: one stable colour per modality subset name (15
// distinct colours, the same in every chart and in gmd-plot), region and label colours.
#include <QColor>
#include <QString>
#include <string>

namespace gmd::panels {

// The colour of a subset ("FLAIR+T1ce"), by its position in the paper's order; "total" is black,
// other names get a stable colour derived from the name.
QColor subset_color(const std::string& name);
// WT, TC, ET (r = 0..2) for Dice/volume charts.
QColor region_color(int r);
// BraTS label overlay colours: NCR/NET (1) red (220,40,40), ED (2) green (0,200,0), ET (4 or 3)
// yellow (255,220,0). Invalid for 0 and other values.
QColor label_color(int label);
// Short subset name for crowded axes: "F+T1c" for "FLAIR+T1ce".
QString short_subset_name(const std::string& name);

}  // namespace gmd::panels
