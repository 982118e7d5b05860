#pragma once
// DCMTK logs to stderr by default (warnings about attributes it fixes up, every file it checks); we report failures
// ourselves. GMD_DCMTK_LOG=1 in the environment shows its warnings and errors (why a save failed, which attribute is
// missing). Private to gmd_io's DCMTK users (dicom_seg.cpp, dicomdir.cpp).
#include <cstdlib>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/oflog/oflog.h"

namespace gmd::io::detail {

inline void quiet_dcmtk() {
  static const bool once = [] {
    OFLog::configure(std::getenv("GMD_DCMTK_LOG") ? OFLogger::WARN_LOG_LEVEL : OFLogger::FATAL_LOG_LEVEL);
    return true;
  }();
  (void)once;
}

}  // namespace gmd::io::detail
