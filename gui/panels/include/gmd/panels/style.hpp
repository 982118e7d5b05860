#pragma once
// Colours shared by every chart of the panels: one stable colour per modality subset name (15
// distinct colours, the same in every chart and in gmd-plot), region colours for charts, and the
// overlay label colours (taken from the main views' palette).
#include <QColor>
#include <QString>
#include <string>

namespace gmd::panels {

// The colour of a subset ("FLAIR+T1ce"), by its position in the paper's order; "total" is black,
// other names get a stable colour derived from the name.
QColor subset_color(const std::string& name);
// WT, TC, ET (r = 0..2) for Dice/volume charts.
QColor region_color(int r);
// BraTS label overlay colours, the main views' palette (resources/colors/brats.json, gmd::viz::Palette):
// NCR/NET (1), ED (2), ET (4, and 3 as BraTS 2023 writes it). Invalid for 0 and other values.
QColor label_color(int label);
// Short subset name for crowded axes: "F+T1c" for "FLAIR+T1ce".
QString short_subset_name(const std::string& name);

}  // namespace gmd::panels
