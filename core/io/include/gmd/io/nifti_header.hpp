#pragma once
// Our own check of a NIfTI-1 header before ITK/niftilib see the file. niftilib accepts headers that make ITK abort
// (a NaN in the sform rows reaches VNL) or read the wrong bytes (vox_offset below the header size): read_image()
// refuses them with a one-line message instead. Pure functions on bytes, so they can be fuzzed.
#include <cstddef>
#include <filesystem>
#include <string>

namespace gmd::io {

enum class NiftiLayout { SingleFile, HeaderOnly };  // .nii / .nii.gz  vs  .hdr (+ .img)

// The problem with the first `size` bytes of a (decompressed) NIfTI-1 / Analyze 7.5 file, or "" if the header is
// usable: size, sizeof_hdr (NIfTI-2 is named as unsupported), magic, dim, datatype, pixdim, vox_offset, scl_slope/
// scl_inter, quaternion and offsets when qform_code > 0, sform rows (finite, not singular) when sform_code > 0.
std::string nifti_header_problem(const unsigned char* bytes, std::size_t size, NiftiLayout layout);
// Reads the header of `path` (.nii, .nii.gz, .hdr; gzip inflated) and throws gmd::InputError("<path>: <problem>")
// if nifti_header_problem() finds one, or if it cannot be read.
void check_nifti_header(const std::filesystem::path& path);

}  // namespace gmd::io
