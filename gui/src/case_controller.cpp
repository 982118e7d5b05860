#include "gmd/gui/case_controller.hpp"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <exception>
#include <new>

#include "gmd/common/error.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/gui/qtext.hpp"

namespace gmd::gui {
namespace fs = std::filesystem;

namespace {
fs::path to_path(const QString& s) { return fs::path(s.toStdString()); }

}  // namespace

CaseController::LoadedCase CaseController::read_dicom(const fs::path& dir, const std::map<std::string, int>& overrides,
                                                      const JobControl* job) {
  // The series' proposals as gmd segment makes them, with the user's assignment over them (reassignDicom); series on
  // other grids registered onto the reference.
  LoadedCase l;
  l.series = io::list_dicom_series(dir);
  l.overrides = overrides;
  const auto chosen = io::assign_series(l.series, overrides);
  if (std::none_of(chosen.begin(), chosen.end(), [](const io::DicomSeries* s) { return s != nullptr; })) {
    l.unassigned = true;  // a question for the user (dicomAssignmentNeeded), not an error
    return l;
  }
  std::vector<std::string> notes;
  io::DicomAlignment align;
  if (job) align.progress = job->report_fn();
  l.c = std::make_shared<io::Case>(io::load_dicom_case(dir, l.series, overrides, kFullMask, &notes, align));
  for (const auto& n : notes) l.notes << q(n);
  return l;
}

CaseController::LoadedCase CaseController::read_files(const io::CaseFiles& files, const JobControl* job) {
  // Files on different grids (converted one series at a time) are registered onto the reference, as gmd segment does.
  std::vector<std::string> notes;
  io::AlignOptions align;
  if (job) align.progress = job->report_fn();
  LoadedCase l{std::make_shared<io::Case>(io::load_case(files, kFullMask, true, &align, &notes)), {}};
  for (const auto& n : notes) l.notes << q(n);
  return l;
}

CaseController::CaseController(QObject* parent) : QObject(parent) {
  model_ = new ModalityBarModel(this);
  // Reading needs no prefix: the IO layer's messages name the file and the problem.
  loader_ = new BackgroundJob(QString(), QStringLiteral("out of memory while reading the images"), this);
  connect(loader_, &BackgroundJob::progressChanged, this, &CaseController::loadProgress);
  connect(loader_, &BackgroundJob::finished, this, [this](const JobOutcome& out) {
    const auto* c = std::any_cast<LoadedCase>(&out.value);
    const bool ok = c && take(*c, pending_folder_);
    if (!c) fail(pending_title_, out.error.isEmpty() ? QStringLiteral("reading the images gave no case") : out.error);
    Q_EMIT loaded(ok);
    Q_EMIT loadingChanged(false);
  });
}
// The loader, a child, waits for a read in progress when it is destroyed.
CaseController::~CaseController() = default;

bool CaseController::hasCase() const { return case_ != nullptr; }
std::shared_ptr<const io::Case> CaseController::currentCase() const { return case_; }
QString CaseController::caseId() const { return case_ ? q(case_->id) : QString(); }
QString CaseController::caseFolder() const { return folder_; }
SubsetMask CaseController::present() const { return case_ ? case_->present() : SubsetMask{0}; }
SubsetMask CaseController::selected() const { return selected_; }
int CaseController::displayed() const { return displayed_; }
const SlotInfo& CaseController::slot(int m) const { return slots_.at(static_cast<size_t>(m)); }
ModalityBarModel* CaseController::barModel() const { return model_; }
QString CaseController::lastError() const { return last_error_; }

void CaseController::fail(const QString& title, const QString& message) {
  last_error_ = message;
  Q_EMIT errorOccurred(title, message);
}

bool CaseController::openFolder(const QString& dir) {
  try {
    if (io::is_dicom_folder(to_path(dir))) {
      return take(read_dicom(to_path(dir)), QDir(dir).absolutePath());
    }
    const io::CaseFiles files = io::discover_case(to_path(dir));
    return load(files, QDir(dir).absolutePath());
  } catch (const InputError& e) {
    fail("Cannot open case", q(e.what()));
  } catch (const std::bad_alloc&) {
    fail("Cannot open case", dir + ": out of memory while reading the images");
  } catch (const std::exception& e) {
    fail("Cannot open case", dir + ": " + q(e.what()));
  }
  return false;
}

bool CaseController::filesToCase(const QStringList& paths, const QHash<QString, int>& assigned,
                                 io::CaseFiles* files, QString* folder) {
  if (paths.isEmpty()) {
    fail("Cannot open files", "no file given");
    return false;
  }
  FileSorting s = sort_files(paths);
  for (auto it = assigned.begin(); it != assigned.end(); ++it) {
    s.unknown.removeAll(it.key());
    const int slot = it.value();
    if (slot < 0 || slot > kSegSlot) continue;
    // an explicit assignment wins over a name-based one
    for (auto& m : s.modality)
      if (m == it.key()) m.clear();
    if (s.seg == it.key()) s.seg.clear();
    QString& dst = slot == kSegSlot ? s.seg : s.modality[static_cast<size_t>(slot)];
    dst = it.key();
  }
  if (!s.conflicts.isEmpty()) {
    fail("Cannot open files", s.conflicts.join("\n"));
    return false;
  }
  if (!s.unknown.isEmpty()) {
    fail("Cannot open files",
         QString("the modality of %1 is not clear from its name; assign it to FLAIR, T1, T1ce or T2 by hand")
             .arg(QFileInfo(s.unknown.front()).fileName()));
    return false;
  }
  std::array<std::optional<fs::path>, kNumModalities> mp;
  QString first;
  for (int m = 0; m < kNumModalities; ++m)
    if (!s.modality[static_cast<size_t>(m)].isEmpty()) {
      mp[static_cast<size_t>(m)] = to_path(s.modality[static_cast<size_t>(m)]);
      if (first.isEmpty()) first = s.modality[static_cast<size_t>(m)];
    }
  if (first.isEmpty()) {
    fail("Cannot open files",
         s.ignored.isEmpty() ? QString("no modality image among the files (need at least one of FLAIR, T1, T1ce, T2)")
                             : QString("%1: not a NIfTI image (.nii or .nii.gz)").arg(s.ignored.front()));
    return false;
  }
  try {
    std::optional<fs::path> seg;
    if (!s.seg.isEmpty()) seg = to_path(s.seg);
    // Case id: the common name prefix of the files whose names say their modality
    // ("BraTS_001" of BraTS_001_t1.nii.gz); else io derives one from all files.
    QString id;
    bool consistent = true;
    for (const QString& p : paths) {
      if (classify_file_name(p) < 0) continue;
      const QString stem = nifti_stem(QFileInfo(p).fileName());
      const qsizetype sep = std::max(stem.lastIndexOf('_'), stem.lastIndexOf('-'));
      const QString prefix = sep > 0 ? stem.left(sep) : QString();
      if (id.isEmpty()) id = prefix;
      else if (prefix != id) consistent = false;
    }
    if (!consistent) id.clear();
    *files = io::case_from_paths(mp, seg, id.isEmpty() ? std::string("case") : id.toStdString());
    *folder = QFileInfo(first).absolutePath();
    return true;
  } catch (const std::exception& e) {
    fail("Cannot open files", q(e.what()));
  }
  return false;
}

bool CaseController::openFiles(const QStringList& paths, const QHash<QString, int>& assigned) {
  io::CaseFiles files;
  QString folder;
  if (!filesToCase(paths, assigned, &files, &folder)) return false;
  try {
    return load(files, folder);
  } catch (const std::bad_alloc&) {
    fail("Cannot open files", "out of memory while reading the images");
  } catch (const std::exception& e) {
    fail("Cannot open files", q(e.what()));
  }
  return false;
}

bool CaseController::openFilesAsync(const QStringList& paths, const QHash<QString, int>& assigned) {
  if (isLoading()) return false;
  io::CaseFiles files;
  QString folder;
  if (!filesToCase(paths, assigned, &files, &folder)) return false;
  const auto read = [files](const JobControl& job) -> std::any {
    return read_files(files, &job);
  };
  return loadAsync(read, folder, "Cannot open files", q(files.id) + ": out of memory while reading the images");
}

bool CaseController::openFolderAsync(const QString& dir) {
  if (isLoading()) return false;
  // What the folder holds is found on the worker too: telling DICOM from NIfTI walks the whole tree.
  const fs::path path = to_path(dir);
  const auto read = [path](const JobControl& job) -> std::any {
    if (io::is_dicom_folder(path)) return read_dicom(path, {}, &job);
    return read_files(io::discover_case(path), &job);
  };
  return loadAsync(read, QDir(dir).absolutePath(), "Cannot open case",
                   dir + ": out of memory while reading the images");
}

bool CaseController::isLoading() const { return loader_->isRunning(); }

bool CaseController::loadAsync(const std::function<std::any(const JobControl&)>& read, const QString& folder,
                               const QString& title, const QString& out_of_memory) {
  pending_folder_ = folder;
  pending_title_ = title;
  if (!loader_->start(read, out_of_memory)) return false;
  Q_EMIT loadingChanged(true);
  return true;
}

std::array<std::string, kNumModalities> CaseController::dicomChosen() const {
  std::array<std::string, kNumModalities> uid{};
  if (!isDicomCase()) return uid;
  for (int m = 0; m < kNumModalities; ++m) {
    const auto& files = case_->files.series_files[static_cast<size_t>(m)];
    if (files.empty()) continue;
    for (const auto& s : dicom_series_)
      if (!s.files.empty() && fs::path(s.files.front()) == files.front()) uid[static_cast<size_t>(m)] = s.uid;
  }
  return uid;
}

bool CaseController::openDicomFolder(const QString& dir, const std::map<std::string, int>& overrides, bool async) {
  if (isLoading()) return false;
  const QString folder = QDir(dir).absolutePath();
  const fs::path path = to_path(dir);
  if (!async) {
    try {
      return take(read_dicom(path, overrides), folder);
    } catch (const std::exception& e) {
      fail("Cannot read the DICOM series", q(e.what()));
      return false;
    }
  }
  const auto read = [path, overrides](const JobControl& job) -> std::any { return read_dicom(path, overrides, &job); };
  return loadAsync(read, folder, "Cannot read the DICOM series", dir + ": out of memory while reading the series");
}

bool CaseController::reassignDicom(const std::map<std::string, int>& overrides, bool async) {
  return isDicomCase() && openDicomFolder(folder_, overrides, async);
}

bool CaseController::waitForLoaded(int timeout_ms) { return loader_->wait(timeout_ms); }

bool CaseController::assignFile(int slot, const QString& path) {
  if (slot < 0 || slot > kSegSlot) return false;
  std::array<std::optional<fs::path>, kNumModalities> mp{};
  std::optional<fs::path> seg;
  std::string id = "case";
  if (case_) {
    mp = case_->files.modality;
    seg = case_->files.seg;
    id = case_->id;
  }
  // a file moves: drop it from any other slot
  const fs::path p = to_path(path);
  for (auto& m : mp)
    if (m && *m == p) m.reset();
  if (seg && *seg == p) seg.reset();
  if (slot == kSegSlot) seg = p;
  else mp[static_cast<size_t>(slot)] = p;
  try {
    const io::CaseFiles files = io::case_from_paths(mp, seg, id);
    return load(files, folder_.isEmpty() ? QFileInfo(path).absolutePath() : folder_);
  } catch (const InputError& e) {
    fail("Cannot assign file", q(e.what()));
  } catch (const std::exception& e) {
    fail("Cannot assign file", q(e.what()));
  }
  return false;
}

bool CaseController::removeModality(int slot) {
  if (!case_ || slot < 0 || slot >= kNumModalities || !case_->images[static_cast<size_t>(slot)]) return false;
  if (subset_size(case_->present()) <= 1) {
    fail("Cannot remove modality", "the case needs at least one modality image");
    return false;
  }
  auto copy = std::make_shared<io::Case>(*case_);
  copy->images[static_cast<size_t>(slot)].reset();
  copy->files.modality[static_cast<size_t>(slot)].reset();
  case_ = copy;
  slots_[static_cast<size_t>(slot)] = SlotInfo{};
  selected_ &= static_cast<SubsetMask>(~(1u << slot));
  if (displayed_ == slot) displayed_ = subset_modalities(case_->present()).front();
  model_->refresh();
  Q_EMIT caseChanged();
  return true;
}

void CaseController::clear() {
  case_.reset();
  dicom_series_.clear();
  dicom_overrides_.clear();
  input_notes_.clear();
  slots_ = {};
  selected_ = 0;
  displayed_ = -1;
  folder_.clear();
  model_->refresh();
  Q_EMIT caseChanged();
}

bool CaseController::load(const io::CaseFiles& files, const QString& folder) {
  // io::load_case validates everything (readable, 3D, finite, one geometry) and throws InputError.
  apply(read_files(files), folder);
  return true;
}

bool CaseController::take(const LoadedCase& l, const QString& folder) {
  if (l.c) {
    apply(l, folder);
    return true;
  }
  if (l.unassigned) {
    unassigned_series_ = l.series;
    last_error_ = folder + ": no series names a sequence; assign them";
    Q_EMIT dicomAssignmentNeeded(folder);
  }
  return false;
}

void CaseController::apply(const LoadedCase& l, const QString& folder) {
  std::shared_ptr<io::Case> c = l.c;
  input_notes_ = l.notes;
  dicom_series_ = l.series;
  dicom_overrides_ = l.overrides;
  const io::CaseFiles& files = c->files;
  std::array<SlotInfo, kNumModalities + 1> slots{};
  for (int m = 0; m <= kNumModalities; ++m) {
    const std::optional<fs::path>& p = m < kNumModalities ? files.modality[static_cast<size_t>(m)] : files.seg;
    if (!p) continue;
    if (m < kNumModalities && !c->images[static_cast<size_t>(m)]) continue;
    if (m == kNumModalities && !c->seg) continue;
    SlotInfo& s = slots[static_cast<size_t>(m)];
    s.present = true;
    s.path = q(p->string());
    s.file_name = m < kNumModalities && !files.series[static_cast<size_t>(m)].empty()
                      ? q(files.series[static_cast<size_t>(m)])  // DICOM: the series, not its first file
                      : QFileInfo(s.path).fileName();
    s.bytes = QFileInfo(s.path).size();
    s.size = c->geom.size;
    s.spacing = c->geom.spacing;
  }
  const SubsetMask old_present = present();
  const SubsetMask old_selected = selected_;
  const bool same_case = case_ && case_->id == c->id;
  case_ = std::move(c);
  slots_ = slots;
  folder_ = folder;
  // Selection: everything present, except modalities the user unticked in this same case.
  selected_ = case_->present();
  if (same_case) selected_ &= static_cast<SubsetMask>(old_selected | (case_->present() & ~old_present));
  if (selected_ == 0) selected_ = case_->present();
  // Displayed: in the same case keep it if still present; else FLAIR > T1ce > T2 > T1.
  if (!same_case || displayed_ < 0 || !subset_has(case_->present(), displayed_)) {
    displayed_ = -1;
    for (int m : {0, 2, 3, 1})
      if (subset_has(case_->present(), m)) {
        displayed_ = m;
        break;
      }
  }
  last_error_.clear();
  model_->refresh();
  Q_EMIT caseChanged();
  Q_EMIT selectionChanged(selected_);
  Q_EMIT displayedChanged(displayed_);
}

void CaseController::setSelected(SubsetMask mask) {
  const SubsetMask s = static_cast<SubsetMask>(mask & present());
  if (s == selected_) return;
  selected_ = s;
  model_->refresh();
  Q_EMIT selectionChanged(selected_);
}

void CaseController::setModalitySelected(int m, bool on) {
  SubsetMask s = selected_;
  if (on) s |= static_cast<SubsetMask>(1u << m);
  else s &= static_cast<SubsetMask>(~(1u << m));
  setSelected(s);
}

void CaseController::setDisplayed(int m) {
  if (m < 0 || m >= kNumModalities || !subset_has(present(), m) || m == displayed_) return;
  displayed_ = m;
  model_->refresh();
  Q_EMIT displayedChanged(m);
}

}  // namespace gmd::gui
