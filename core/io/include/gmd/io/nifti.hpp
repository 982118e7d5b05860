#pragma once
// NIfTI (and anything else ITK reads) <-> gmd::io containers, via ITK.
#include <filesystem>

#include "gmd/common/image.hpp"

namespace gmd::io {

// Throws gmd::InputError naming the file and the real cause unless `path` is a regular file this process may read:
// not found, broken symbolic link, link loop, permission denied, a folder, a FIFO/socket/device.
void check_readable_file(const std::filesystem::path& path);
// Reads any scalar pixel type ITK reads into float, keeps the geometry.
// Throws gmd::InputError naming the file: unreadable (check_readable_file), a NIfTI header our own check refuses
// (check_nifti_header: non-finite orientation, vox_offset inside the header, ...), truncated/corrupt, not 3D (e.g.
// 2D), NaN/Inf voxels, all-zero image (when reject_all_zero), out of memory.
Image read_image(const std::filesystem::path& path, bool reject_all_zero = true);
// Reads a BraTS label map: labels 0/1/2/4 (3 accepted and converted to 4). Other labels -> InputError.
LabelMap read_labels(const std::filesystem::path& path);
// Writes atomically (temp file + rename). .nii or .nii.gz by extension.
void write_image(const std::filesystem::path& path, const Image& img);
void write_labels(const std::filesystem::path& path, const LabelMap& labels);

}  // namespace gmd::io
