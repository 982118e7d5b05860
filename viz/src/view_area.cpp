#include "gmd/viz/view_area.hpp"

#include <vtkImageData.h>
#include <vtkSmartPointer.h>

#include <QElapsedTimer>
#include <QFrame>
#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gmd/viz/timing.hpp"
#include "gmd/viz/views.hpp"

namespace gmd::viz {
namespace {
using V3 = std::array<double, 3>;

template <typename T>
vtkSmartPointer<vtkImageData> make_vtk_image(const std::vector<T>& disp, const DisplayFrame& f, int vtk_type) {
  auto img = vtkSmartPointer<vtkImageData>::New();
  img->SetDimensions(static_cast<int>(f.size[0]), static_cast<int>(f.size[1]), static_cast<int>(f.size[2]));
  img->SetSpacing(f.spacing[0], f.spacing[1], f.spacing[2]);
  img->SetOrigin(0, 0, 0);
  img->AllocateScalars(vtk_type, 1);
  std::memcpy(img->GetScalarPointer(), disp.data(), disp.size() * sizeof(T));
  return img;
}

const char* label_text(int v) {
  switch (v) {
    case 1: return "NCR/NET";
    case 2: return "ED";
    case 3:
    case 4: return "ET";
    default: return "";
  }
}
}  // namespace

QString ViewArea::viewName(ViewId v) {
  switch (v) {
    case ViewId::Axial: return "axial";
    case ViewId::Coronal: return "coronal";
    case ViewId::Sagittal: return "sagittal";
    case ViewId::ThreeD: return "3d";
  }
  return {};
}

std::optional<ViewArea::ViewId> ViewArea::parseViewName(const QString& s) {
  const QString l = s.trimmed().toLower();
  if (l == "axial" || l == "ax") return ViewId::Axial;
  if (l == "coronal" || l == "cor") return ViewId::Coronal;
  if (l == "sagittal" || l == "sag") return ViewId::Sagittal;
  if (l == "3d" || l == "surface" || l == "3-d") return ViewId::ThreeD;
  return std::nullopt;
}

struct ViewArea::Impl {
  bool rendering = false;
  std::array<SliceView*, 3> slice{nullptr, nullptr, nullptr};  // indexed by ViewId
  SurfaceView* surface = nullptr;
  std::array<QWidget*, 4> content{};  // view or placeholder per ViewId
  std::array<QFrame*, 4> cell{};
  QGridLayout* grid = nullptr;
  vtkSmartPointer<vtkImageData> image, labels;
  DisplayFrame frame;
  QString name;
  V3 cursor{0, 0, 0};
  WindowLevel wl;
  OverlayStyle style;
  bool brain_on = true;
  Layout layout = Layout::Grid;
  ViewId single = ViewId::Axial;

  std::array<long long, 3> display_index(const V3& w) const {
    std::array<long long, 3> i{};
    for (int a = 0; a < 3; ++a)
      i[a] = std::clamp<long long>(std::llround(w[a] / frame.spacing[a]), 0,
                                   static_cast<long long>(frame.size[a]) - 1);
    return i;
  }
  void for_slices(const std::function<void(SliceView&)>& fn) {
    for (auto* s : slice)
      if (s) fn(*s);
  }
};

ViewArea::ViewArea(QWidget* parent) : ViewArea(VtkGlWidget::openGLAvailable(), parent) {}

ViewArea::ViewArea(bool rendering, QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>()) {
  d_->rendering = rendering;
  setObjectName("viewArea");
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* host = new QWidget(this);
  host->setObjectName("viewHost");
  host->setStyleSheet("#viewHost { background: #101114; }");
  outer->addWidget(host);
  d_->grid = new QGridLayout(host);
  d_->grid->setContentsMargins(2, 2, 2, 2);
  d_->grid->setSpacing(2);

  const std::array<ViewAxis, 3> axes{ViewAxis::Axial, ViewAxis::Coronal, ViewAxis::Sagittal};
  for (int v = 0; v < 4; ++v) {
    auto* frame = new QFrame(host);
    frame->setObjectName("viewCell");
    frame->setStyleSheet("#viewCell { background: #000; border: 1px solid #2a2d33; }");
    auto* lay = new QVBoxLayout(frame);
    lay->setContentsMargins(1, 1, 1, 1);
    QWidget* w = nullptr;
    if (rendering) {
      if (v < 3) {
        auto* sv = new SliceView(axes[v], frame);
        d_->slice[v] = sv;
        connect(sv, &SliceView::cursorRequested, this, [this](double x, double y, double z) {
          setCursorWorld({x, y, z});
        });
        connect(sv, &SliceView::hovered, this,
                [this](double x, double y, double z) { Q_EMIT hoverChanged(describe({x, y, z})); });
        connect(sv, &SliceView::windowLevelRequested, this, [this](double w, double l) {
          setWindowLevel(WindowLevel{w, l});
        });
        connect(sv, &SliceView::maximizeRequested, this, [this, v] {
          if (d_->layout == Layout::Single) setLayoutMode(Layout::Grid, d_->single);
          else setLayoutMode(Layout::Single, static_cast<ViewId>(v));
        });
        w = sv;
      } else {
        d_->surface = new SurfaceView(frame);
        connect(d_->surface, &SurfaceView::maximizeRequested, this, [this] {
          if (d_->layout == Layout::Single) setLayoutMode(Layout::Grid, d_->single);
          else setLayoutMode(Layout::Single, ViewId::ThreeD);
        });
        w = d_->surface;
      }
    } else {
      auto* label = new QLabel(frame);
      label->setAlignment(Qt::AlignCenter);
      label->setWordWrap(true);
      label->setStyleSheet("color: #9aa0a6; background: #000;");
      label->setText(QString("%1 view\n(rendering needs OpenGL, which this display does not offer;\n"
                             "run under X11 or xvfb-run)")
                         .arg(v == 3 ? QString("3D") : QString(view_axis_name(axes[v]))));
      w = label;
    }
    w->setObjectName(QString("view_") + viewName(static_cast<ViewId>(v)));
    lay->addWidget(w);
    d_->content[v] = w;
    d_->cell[v] = frame;
  }
  rebuildLayout();
}

ViewArea::~ViewArea() = default;

bool ViewArea::renderingAvailable() const { return d_->rendering; }
bool ViewArea::hasImage() const { return d_->image != nullptr; }
bool ViewArea::hasLabels() const { return d_->labels != nullptr; }
const DisplayFrame& ViewArea::frame() const { return d_->frame; }
SliceView* ViewArea::sliceView(ViewId v) const {
  return v == ViewId::ThreeD ? nullptr : d_->slice[static_cast<int>(v)];
}
SurfaceView* ViewArea::surfaceView() const { return d_->surface; }
QWidget* ViewArea::viewWidget(ViewId v) const { return d_->content[static_cast<int>(v)]; }

void ViewArea::setImage(const Image* image, const QString& name, bool new_case) {
  auto& d = *d_;
  if (!image || image->geom.voxel_count() == 0 || image->voxels.size() != image->geom.voxel_count()) {
    d.image = nullptr;
    d.labels = nullptr;
    d.for_slices([](SliceView& s) {
      s.scene().set_labels(nullptr);
      s.scene().set_image(nullptr);
      s.refresh();
    });
    if (d.surface) {
      d.surface->scene().set_labels(nullptr);
      d.surface->scene().set_brain(nullptr, 0);
      d.surface->refresh();
    }
    Q_EMIT cursorChanged(QString());
    return;
  }
  QElapsedTimer timer;
  timer.start();
  const DisplayFrame f = DisplayFrame::from_geometry(image->geom);
  const bool geometry_changed = !d.image || f != d.frame;
  const bool reset = new_case || geometry_changed;
  d.frame = f;
  d.name = name;
  const auto disp = to_display(image->voxels, f);
  d.image = make_vtk_image(disp, f, VTK_FLOAT);
  d.wl = auto_window_level(disp);
  if (reset) {
    for (int a = 0; a < 3; ++a) d.cursor[a] = std::floor(f.size[a] / 2.0) * f.spacing[a];
    if (geometry_changed) d.labels = nullptr;
  }
  d.for_slices([&](SliceView& s) {
    s.scene().set_image(d.image);
    s.scene().set_labels(d.labels);
    s.scene().set_title(name.toStdString());
    s.scene().set_overlay_style(Palette::builtin(), d.style);
    s.scene().set_cursor(d.cursor);
    s.setWindowLevel(d.wl);
    if (reset) s.resetView();
    s.refresh();
  });
  log_timing("image to slice views", timer.nsecsElapsed() / 1e6);
  timer.restart();
  if (d.surface && reset) {
    auto& sc = d.surface->scene();
    const auto pr = brain_percentiles(disp, 0.5, 99.5);
    const double thr = pr[0] >= 0 ? 0.02 * pr[1] : pr[0];
    sc.set_brain(d.image, thr);
    sc.set_labels(d.labels);
    sc.set_overlay_style(Palette::builtin(), d.style);
    sc.set_brain_visible(d.brain_on);
    sc.reset_camera();
    d.surface->refresh();
    log_timing("brain outline surface", timer.nsecsElapsed() / 1e6,
               std::to_string(sc.brain_polygons()) + " polygons");
  }
  Q_EMIT windowLevelChanged(d.wl.window, d.wl.level);
  Q_EMIT cursorChanged(describe(d.cursor));
}

void ViewArea::setLabels(const LabelMap* labels) {
  auto& d = *d_;
  if (!labels || !d.image || labels->geom.size != d.frame.source_size ||
      labels->voxels.size() != labels->geom.voxel_count()) {
    d.labels = nullptr;
  } else {
    d.labels = make_vtk_image(to_display(labels->voxels, d.frame), d.frame, VTK_UNSIGNED_CHAR);
  }
  d.for_slices([&](SliceView& s) {
    s.scene().set_labels(d.labels);
    s.refresh();
  });
  QElapsedTimer timer;
  timer.start();
  if (d.surface) {
    d.surface->scene().set_labels(d.labels);
    d.surface->refresh();
    const auto p = d.surface->scene().region_polygons();
    log_timing("tumour surfaces", timer.nsecsElapsed() / 1e6,
               "WT/TC/ET " + std::to_string(p[0]) + "/" + std::to_string(p[1]) + "/" + std::to_string(p[2]) +
                   " polygons");
  }
  Q_EMIT cursorChanged(describe(d.cursor));
}

void ViewArea::setOverlayStyle(const OverlayStyle& style) {
  d_->style = style;
  d_->for_slices([&](SliceView& s) {
    s.scene().set_overlay_style(Palette::builtin(), style);
    s.refresh();
  });
  if (d_->surface) {
    d_->surface->scene().set_overlay_style(Palette::builtin(), style);
    d_->surface->refresh();
  }
}
const OverlayStyle& ViewArea::overlayStyle() const { return d_->style; }

void ViewArea::setBrainOutlineVisible(bool on) {
  d_->brain_on = on;
  if (d_->surface) {
    d_->surface->scene().set_brain_visible(on);
    d_->surface->refresh();
  }
}
bool ViewArea::brainOutlineVisible() const { return d_->brain_on; }

void ViewArea::setCrosshairVisible(bool on) {
  d_->for_slices([&](SliceView& s) {
    s.scene().set_crosshair_visible(on);
    s.refresh();
  });
}

void ViewArea::setWindowLevel(const WindowLevel& wl) {
  d_->wl = wl;
  d_->for_slices([&](SliceView& s) { s.setWindowLevel(wl); });
  Q_EMIT windowLevelChanged(wl.window, wl.level);
}
const WindowLevel& ViewArea::windowLevel() const { return d_->wl; }

WindowLevel ViewArea::presetWindowLevel(int preset_index) const {
  const auto& presets = window_presets();
  if (!d_->image || preset_index < 0 || preset_index >= static_cast<int>(presets.size())) return d_->wl;
  const auto* p = static_cast<const float*>(d_->image->GetScalarPointer());
  return preset_window_level(p, d_->frame.voxel_count(), presets[static_cast<size_t>(preset_index)]);
}

void ViewArea::applyWindowPreset(int preset_index) { setWindowLevel(presetWindowLevel(preset_index)); }

void ViewArea::setLayoutMode(Layout layout, ViewId single) {
  d_->layout = layout;
  d_->single = single;
  rebuildLayout();
  Q_EMIT layoutModeChanged();
}
ViewArea::Layout ViewArea::layoutMode() const { return d_->layout; }
ViewArea::ViewId ViewArea::singleView() const { return d_->single; }

void ViewArea::rebuildLayout() {
  auto& d = *d_;
  for (auto* c : d.cell) d.grid->removeWidget(c);
  // Grid: axial | sagittal / coronal | 3D
  const std::array<std::pair<int, int>, 4> pos{{{0, 0}, {1, 0}, {0, 1}, {1, 1}}};  // by ViewId
  for (int v = 0; v < 4; ++v) {
    const bool show = d.layout == Layout::Grid || static_cast<int>(d.single) == v;
    if (show) {
      if (d.layout == Layout::Grid) d.grid->addWidget(d.cell[v], pos[v].first, pos[v].second);
      else d.grid->addWidget(d.cell[v], 0, 0);
    }
    d.cell[v]->setVisible(show);
  }
  for (int i = 0; i < 2; ++i) {
    d.grid->setRowStretch(i, d.layout == Layout::Grid || i == 0 ? 1 : 0);
    d.grid->setColumnStretch(i, d.layout == Layout::Grid || i == 0 ? 1 : 0);
  }
}

void ViewArea::setCursorWorld(const std::array<double, 3>& w) {
  auto& d = *d_;
  if (!d.image) return;
  for (int a = 0; a < 3; ++a)
    d.cursor[a] = std::clamp(w[a], 0.0, (static_cast<double>(d.frame.size[a]) - 1) * d.frame.spacing[a]);
  d.for_slices([&](SliceView& s) {
    s.scene().set_cursor(d.cursor);
    s.refresh();
  });
  Q_EMIT cursorChanged(describe(d.cursor));
}

void ViewArea::setCursorVoxel(const std::array<std::size_t, 3>& source_index) {
  if (!d_->image) return;
  std::array<std::size_t, 3> s = source_index;
  for (int a = 0; a < 3; ++a) s[a] = std::min(s[a], d_->frame.source_size[a] - 1);
  const auto di = d_->frame.to_display(s);
  setCursorWorld({di[0] * d_->frame.spacing[0], di[1] * d_->frame.spacing[1], di[2] * d_->frame.spacing[2]});
}

std::array<std::size_t, 3> ViewArea::cursorVoxel() const {
  const auto i = d_->display_index(d_->cursor);
  return d_->frame.to_source({static_cast<size_t>(i[0]), static_cast<size_t>(i[1]), static_cast<size_t>(i[2])});
}

bool ViewArea::centreOnLabel(int value) {
  auto& d = *d_;
  if (!d.labels) return false;
  const auto* lab = static_cast<const std::uint8_t*>(d.labels->GetScalarPointer());
  std::array<std::vector<double>, 3> hist;
  for (int a = 0; a < 3; ++a) hist[a].assign(d.frame.size[a], 0.0);
  long long n = 0;
  size_t i = 0;
  for (size_t z = 0; z < d.frame.size[2]; ++z)
    for (size_t y = 0; y < d.frame.size[1]; ++y)
      for (size_t x = 0; x < d.frame.size[0]; ++x, ++i)
        if (lab[i] == value || (value == 4 && lab[i] == 3)) {
          hist[0][x] += 1;
          hist[1][y] += 1;
          hist[2][z] += 1;
          ++n;
        }
  if (n == 0) return false;
  std::array<double, 3> w{};
  for (int a = 0; a < 3; ++a) {
    // argmax of the histogram smoothed over +-3 slices
    const auto& h = hist[a];
    const long long len = static_cast<long long>(h.size());
    double best = -1;
    long long arg = 0;
    for (long long k = 0; k < len; ++k) {
      double s = 0;
      for (long long j = std::max(0LL, k - 3); j <= std::min(len - 1, k + 3); ++j) s += h[static_cast<size_t>(j)];
      if (s > best) {
        best = s;
        arg = k;
      }
    }
    w[a] = static_cast<double>(arg) * d.frame.spacing[a];
  }
  setCursorWorld(w);
  return true;
}

bool ViewArea::centreOnTumour() { return centreOnLabel(4) || centreOnLabel(1) || centreOnLabel(2); }

void ViewArea::resetViews() {
  d_->for_slices([](SliceView& s) { s.resetView(); });
  if (d_->surface) d_->surface->resetView();
}

void ViewArea::refresh() {
  d_->for_slices([](SliceView& s) { s.refresh(); });
  if (d_->surface) d_->surface->refresh();
}

QString ViewArea::describe(const std::array<double, 3>& w) const {
  const auto& d = *d_;
  if (!d.image) return {};
  const auto di = d.display_index(w);
  const auto si = d.frame.to_source({static_cast<size_t>(di[0]), static_cast<size_t>(di[1]), static_cast<size_t>(di[2])});
  const size_t idx = (static_cast<size_t>(di[2]) * d.frame.size[1] + static_cast<size_t>(di[1])) * d.frame.size[0] +
                     static_cast<size_t>(di[0]);
  const float v = static_cast<const float*>(d.image->GetScalarPointer())[idx];
  QString text = QString("voxel [%1, %2, %3]   %4 %5").arg(si[0]).arg(si[1]).arg(si[2]).arg(d.name).arg(v, 0, 'g', 5);
  if (d.labels) {
    const int l = static_cast<const std::uint8_t*>(d.labels->GetScalarPointer())[idx];
    if (d.style.mode == OverlayMode::Agreement)  // the shown map holds agreement bins, not BraTS labels
      text += QString("   agreement: %1").arg(l == 1 || l == 2 || l == 4
                                                   ? QString("%1 of the subsets").arg(agreement_bin_name(l == 1 ? 0 : l == 2 ? 1 : 2))
                                                   : QString("no subset"));
    else
      text += QString("   label %1%2").arg(l).arg(l ? QString(" (%1)").arg(label_text(l)) : QString());
  }
  return text;
}

QString ViewArea::cursorText() const { return describe(d_->cursor); }

}  // namespace gmd::viz
