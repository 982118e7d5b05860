#pragma once
// UI-independent state of the loaded case (testable without a display): which files fill which
// modality slot, which modalities the user ticked for segmentation, which one is displayed.
// File-name sorting: case_files.hpp; the modality bar's model: modality_bar_model.hpp; recent cases:
// recent_cases.hpp.
// Widgets (ModalityBar, MainWindow) observe it; all errors come out as errorOccurred(title, text).
#include <QObject>
#include <QString>
#include <QStringList>
#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/gui/background_job.hpp"
#include "gmd/gui/case_files.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/gui/modality_bar_model.hpp"
#include "gmd/io/case.hpp"

namespace gmd::gui {

class CaseController : public QObject {
  Q_OBJECT
 public:
  explicit CaseController(QObject* parent = nullptr);
  ~CaseController() override;

  // Loading. Each returns true on success; on failure the previous case stays loaded and
  // errorOccurred() is emitted with a message that names the file and the problem.
  bool openFolder(const QString& dir);
  // Explicit files; unknown names must be assigned via `assigned` (path -> slot 0..4).
  bool openFiles(const QStringList& paths, const QHash<QString, int>& assigned = {});
  // Replaces (or adds) the file of one slot of the current case (slot 0..3, or kSegSlot) and reloads.
  bool assignFile(int slot, const QString& path);
  // Like openFolder/openFiles but reads the images on a worker thread (the UI stays responsive):
  // loadingChanged(true) now, then caseChanged (success) or errorOccurred (failure), then
  // loaded(ok) and loadingChanged(false). Returns false only when it cannot start (already loading, or
  // openFilesAsync's files are unusable: errorOccurred says why); a folder's problems come through errorOccurred.
  bool openFolderAsync(const QString& dir);
  bool openFilesAsync(const QStringList& paths, const QHash<QString, int>& assigned = {});
  bool isLoading() const;
  bool waitForLoaded(int timeout_ms);  // processes events; for tests and scripts
  // Removes a modality from the current case (not the last one).
  bool removeModality(int slot);
  void clear();

  // A case read from DICOM series: every series of its folder (with the proposals), and the user's assignment so far
  // (series UID -> modality, -1 = skip; empty = the proposals).
  bool isDicomCase() const { return case_ && !dicom_series_.empty(); }
  const std::vector<io::DicomSeries>& dicomSeries() const { return dicom_series_; }
  const std::map<std::string, int>& dicomOverrides() const { return dicom_overrides_; }
  const std::vector<io::DicomSeries>& unassignedSeries() const { return unassigned_series_; }
  // The series each modality of the open case was read from (UID; "" when none).
  std::array<std::string, kNumModalities> dicomChosen() const;
  // Reads a DICOM folder with the user's assignment over the proposals, on the worker like openFolderAsync (async) or
  // right away; false when a load is running (or, synchronously, when reading failed: errorOccurred says why).
  bool openDicomFolder(const QString& dir, const std::map<std::string, int>& overrides, bool async = true);
  // The same for the open DICOM case's folder (the overrides replace the previous ones); false when none is open.
  bool reassignDicom(const std::map<std::string, int>& overrides, bool async = true);

  bool hasCase() const;
  std::shared_ptr<const io::Case> currentCase() const;
  QString caseId() const;
  QString caseFolder() const;
  // How the open case was read, one line each (a DICOM folder: the series chosen for each modality, those skipped and
  // why, those resampled onto the reference grid); empty for NIfTI files.
  QStringList inputNotes() const { return input_notes_; }  // folder opened, or the folder of the first file
  SubsetMask present() const;
  SubsetMask selected() const;  // ticked for segmentation (subset of present)
  void setSelected(SubsetMask mask);
  void setModalitySelected(int m, bool on);
  int displayed() const;  // -1 when nothing is loaded
  void setDisplayed(int m);
  const SlotInfo& slot(int m) const;  // m in 0..3, or kSegSlot
  ModalityBarModel* barModel() const;
  QString lastError() const;

 Q_SIGNALS:
  void caseChanged();                 // a new case was loaded (or cleared)
  void selectionChanged(gmd::SubsetMask selected);
  void displayedChanged(int modality);
  void errorOccurred(const QString& title, const QString& message);
  void loadingChanged(bool loading);
  // While loading on the worker (a DICOM folder: "reading T2", "registering FLAIR onto T1ce"), fraction 0..1.
  void loadProgress(const QString& stage, double fraction);
  void loaded(bool ok);
  // A DICOM folder whose series name no modality (descriptions a scanner made up): a question for the user, not an
  // error. unassignedSeries() lists them; openDicomFolder(folder, assignment) reads them once assigned.
  void dicomAssignmentNeeded(const QString& folder);

 private:
  struct LoadedCase {
    std::shared_ptr<io::Case> c;
    QStringList notes;
    std::vector<io::DicomSeries> series;  // DICOM: every series of the folder
    std::map<std::string, int> overrides;  // DICOM: the assignment the case was read with
    bool unassigned = false;               // DICOM: no series names a modality; c is null, series are listed
  };
  static LoadedCase read_dicom(const std::filesystem::path& dir, const std::map<std::string, int>& overrides = {},
                               const JobControl* job = nullptr);
  static LoadedCase read_files(const io::CaseFiles& files, const JobControl* job = nullptr);
  bool load(const io::CaseFiles& files, const QString& folder);
  // Starts `read` (returns a LoadedCase) on the loader; the case goes to `folder`, a failure is titled `title`.
  bool loadAsync(const std::function<std::any(const JobControl&)>& read, const QString& folder, const QString& title,
                 const QString& out_of_memory);
  // A read's outcome: the case applied (true), or, for a DICOM folder with nothing assigned, the question asked.
  bool take(const LoadedCase& l, const QString& folder);
  void apply(const LoadedCase& l, const QString& folder);
  // Sorting/validation of openFiles without reading images; false + errorOccurred on problems.
  bool filesToCase(const QStringList& paths, const QHash<QString, int>& assigned, io::CaseFiles* files,
                   QString* folder);
  void fail(const QString& title, const QString& message);
  std::shared_ptr<const io::Case> case_;
  std::array<SlotInfo, kNumModalities + 1> slots_;
  SubsetMask selected_ = 0;
  int displayed_ = -1;
  QString folder_;
  QString last_error_;
  ModalityBarModel* model_ = nullptr;
  BackgroundJob* loader_ = nullptr;  // openFolderAsync / openFilesAsync
  QString pending_folder_, pending_title_;
  QStringList input_notes_;
  std::vector<io::DicomSeries> dicom_series_;
  std::map<std::string, int> dicom_overrides_;
  std::vector<io::DicomSeries> unassigned_series_;  // the last folder whose series named no modality
};

}  // namespace gmd::gui
