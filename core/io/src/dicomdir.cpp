// A DICOMDIR over a folder of DICOM files, as on a CD from a scanner or a PACS (DCMTK's DicomDirInterface).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcddirif.h>

#include <algorithm>

#include "gmd/common/error.hpp"
#include "dcmtk_log.hpp"
#include "dicom_file.hpp"
#include "gmd/io/dicom.hpp"

namespace gmd::io {
namespace fs = std::filesystem;

fs::path write_dicomdir(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().filename() == "DICOMDIR") continue;
    if (detail::has_dicom_preamble(it->path())) files.push_back(fs::relative(it->path(), root));
  }
  if (ec) throw InputError(root.string() + ": cannot list folder: " + ec.message());
  if (files.empty()) throw InputError(root.string() + ": holds no DICOM file to put in a DICOMDIR");
  std::sort(files.begin(), files.end());
  const fs::path out = root / "DICOMDIR";
  detail::quiet_dcmtk();
  DicomDirInterface dir;
  dir.enableInventMode(OFTrue);  // type 1 attributes a synthetic series lacks (e.g. the study date)
  dir.disableBackupMode(OFFalse);  // OFFalse = no DICOMDIR.BAK
  // Our series writer (ITK's GDCM IO) writes implicit VR little endian; the general-purpose CD profile asks for
  // explicit VR. A reader does not care; this is demo and test media, not a disc to burn.
  dir.disableTransferSyntaxCheck(OFFalse);
  if (OFCondition c = dir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose, OFFilename(out.c_str()), "GMD_STUDIO");
      c.bad())
    throw InputError(out.string() + ": cannot create a DICOMDIR (" + c.text() + ")");
  for (const fs::path& f : files)
    if (OFCondition c = dir.addDicomFile(OFFilename(f.generic_string().c_str()), OFFilename(root.c_str())); c.bad())
      throw InputError((root / f).string() + ": cannot be put in a DICOMDIR (" + c.text() +
                       "; file IDs must be up to 8 upper-case letters, digits or _ per component)");
  if (OFCondition c = dir.writeDicomDir(); c.bad())
    throw InputError(out.string() + ": cannot write the DICOMDIR (" + c.text() + ")");
  return out;
}

}  // namespace gmd::io
