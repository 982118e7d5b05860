#pragma once
// UI-independent state of the loaded case (testable without a display): which files fill which
// modality slot, which modalities the user ticked for segmentation, which one is displayed.
// Widgets (ModalityBar, MainWindow) observe it; all errors come out as errorOccurred(title, text).
#include <QAbstractListModel>
#include <QObject>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <array>
#include <filesystem>
#include <memory>
#include <optional>

#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"

namespace gmd::gui {

// Classifies a file name: 0..3 modality (FLAIR, T1, T1ce, T2), 4 segmentation, -1 unknown or not
// NIfTI. "<anything>_<suffix>.nii[.gz]" with suffix flair/t1/t1ce/t2/seg (case-insensitive; BraTS
// 2023 t2f/t1n/t1c/t2w and t1gd accepted).
int classify_file_name(const QString& file_name);
inline constexpr int kSegSlot = kNumModalities;

// Sorting of a dropped/opened set of files into slots.
struct FileSorting {
  std::array<QString, kNumModalities> modality;  // empty = none
  QString seg;
  QStringList unknown;   // NIfTI files whose name does not say the modality (user must assign)
  QStringList ignored;   // not NIfTI
  QStringList conflicts; // "a.nii.gz and b.nii.gz both look like T1"
};
FileSorting sort_files(const QStringList& paths);

// What the modality bar shows for one slot.
struct SlotInfo {
  bool present = false;
  QString path;
  QString file_name;
  qint64 bytes = 0;
  std::array<std::size_t, 3> size{0, 0, 0};
  std::array<double, 3> spacing{0, 0, 0};
  QString tooltip() const;  // file name, size on disk, voxels, spacing
};

class CaseController;

// Qt list model of the four modality slots (rows FLAIR, T1, T1ce, T2) for the modality bar.
class ModalityBarModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    PresentRole = Qt::UserRole + 1,  // bool: file loaded for this modality
    SelectedRole,                    // bool: ticked for segmentation (only if present)
    DisplayedRole,                   // bool: shown in the views
    FileNameRole,                    // QString
    PathRole,                        // QString
    SizeTextRole                     // QString e.g. "240 x 240 x 155, 1 x 1 x 1 mm"
  };
  explicit ModalityBarModel(CaseController* controller);
  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QHash<int, QByteArray> roleNames() const override;
  void refresh();

 private:
  CaseController* c_;
};

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
  // loaded(ok) and loadingChanged(false). Returns false only when it cannot start (already loading,
  // or the folder/files are unusable; errorOccurred says why).
  bool openFolderAsync(const QString& dir);
  bool openFilesAsync(const QStringList& paths, const QHash<QString, int>& assigned = {});
  bool isLoading() const;
  bool waitForLoaded(int timeout_ms);  // processes events; for tests and scripts
  // Removes a modality from the current case (not the last one).
  bool removeModality(int slot);
  void clear();

  bool hasCase() const;
  std::shared_ptr<const io::Case> currentCase() const;
  QString caseId() const;
  QString caseFolder() const;  // folder opened, or the folder of the first file
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
  void loaded(bool ok);

 private:
  bool load(const io::CaseFiles& files, const QString& folder);
  bool loadAsync(const io::CaseFiles& files, const QString& folder, const QString& title);
  void apply(std::shared_ptr<io::Case> c, const QString& folder);
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
  bool loading_ = false;
};

// Recently opened cases (most recent first, at most `capacity`), kept in QSettings.
class RecentCases {
 public:
  explicit RecentCases(QSettings* settings, int capacity = 8);
  QStringList list() const;  // existing folders only
  void add(const QString& folder);
  void remove(const QString& folder);
  void clear();

 private:
  QSettings* settings_;
  int capacity_;
};

}  // namespace gmd::gui
