// NIfTI (and NRRD / MetaImage) reading and writing through ITK.
#include "gmd/io/nifti.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkObjectFactoryBase.h>
#include <nifti1_io.h>
#include <znzlib.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/io/itk_image.hpp"
#include "gmd/io/nifti_header.hpp"

namespace gmd::io {
namespace fs = std::filesystem;
namespace {

using FloatImage = itk::Image<float, 3>;

// ITK_USE_FILE registers the IO factories for the modules we link; registering them here too
// keeps reading working however this static library ends up linked (no duplicates are added).
void ensure_io_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::set<std::string> have;
    for (auto* f : itk::ObjectFactoryBase::GetRegisteredFactories()) have.insert(f->GetNameOfClass());
    if (!have.count("NiftiImageIOFactory")) itk::NiftiImageIOFactory::RegisterOneFactory();
    if (!have.count("NrrdImageIOFactory")) itk::NrrdImageIOFactory::RegisterOneFactory();
    if (!have.count("MetaImageIOFactory")) itk::MetaImageIOFactory::RegisterOneFactory();
    // Our messages say what is wrong in one line: niftilib's "** ERROR" lines and ITK's multi-line WARNING blocks
    // would print before them (and for problems we report ourselves, or that do not matter).
    nifti_set_debug_level(0);
    itk::Object::GlobalWarningDisplayOff();
  });
}

// ITK descriptions may span lines; error messages are one line.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

[[noreturn]] void fail(const fs::path& p, const std::string& problem) {
  throw InputError(p.string() + ": " + problem);
}

// ITK's NIfTI reader goes through niftilib, which zero-fills a short (truncated) data read and
// replaces NaN/Inf floats by 0 without reporting either. This pass streams the file's voxel bytes
// through niftilib's own znz layer (so .nii.gz is inflated by zlib, CRC included) to find both.
struct NiftiScan {
  bool header_ok = false;
  std::size_t expected = 0;  // voxel data bytes the header promises
  std::size_t got = 0;       // voxel data bytes actually present
  bool corrupt = false;      // compressed stream fails zlib's integrity (CRC) check
  std::size_t nonfinite = 0;
  std::size_t first_bad = 0;  // voxel index of the first NaN/Inf
  double first_bad_value = 0.0;
  std::size_t nx = 1, ny = 1;
};

NiftiScan scan_nifti(const std::string& fname) {
  NiftiScan s;
  std::unique_ptr<nifti_image, void (*)(nifti_image*)> nim(nifti_image_read(fname.c_str(), 0), nifti_image_free);
  if (!nim || !nim->iname) return s;
  s.header_ok = true;
  s.expected = nim->nvox * static_cast<std::size_t>(nim->nbyper);
  s.nx = static_cast<std::size_t>(std::max(1, nim->nx));
  s.ny = static_cast<std::size_t>(std::max(1, nim->ny));
  // Floating-point element size to check for NaN/Inf (complex types hold two of them), 0: integer data.
  std::size_t fsize = 0;
  switch (nim->datatype) {
    case NIFTI_TYPE_FLOAT32: case NIFTI_TYPE_COMPLEX64: fsize = 4; break;
    case NIFTI_TYPE_FLOAT64: case NIFTI_TYPE_COMPLEX128: fsize = 8; break;
    default: break;
  }
  const bool gz = nifti_is_gzfile(nim->iname) != 0;
  if (!gz && fsize == 0) {  // uncompressed integers: the file size says it all
    std::error_code ec;
    const auto size = fs::file_size(nim->iname, ec);
    const auto off = static_cast<std::uintmax_t>(std::max(0, nim->iname_offset));
    s.got = ec ? 0 : (size > off ? std::min<std::uintmax_t>(size - off, s.expected) : 0);
    return s;
  }
  znzFile fp = znzopen(nim->iname, "rb", gz ? 1 : 0);
  if (znz_isnull(fp)) return s;
  if (znzseek(fp, nim->iname_offset, SEEK_SET) < 0) {
    znzclose(fp);
    return s;
  }
  const bool swap = fsize && nim->byteorder != nifti_short_order();
  const std::size_t per_voxel = static_cast<std::size_t>(std::max(1, nim->nbyper));
  std::vector<unsigned char> buf(std::size_t(1) << 20);  // a multiple of 8 bytes
  while (s.got < s.expected) {
    const std::size_t want = std::min(buf.size(), s.expected - s.got);
    const std::size_t r = znzread(buf.data(), 1, want, fp);
    if (r == 0 || r > want) break;  // end of data, or (size_t)-1 on a zlib error
    if (fsize) {
      const std::size_t n = r / fsize;
      if (swap) {
        if (fsize == 4) nifti_swap_4bytes(n, buf.data());
        else nifti_swap_8bytes(n, buf.data());
      }
      for (std::size_t i = 0; i < n; ++i) {
        double v;
        if (fsize == 4) {
          float f;
          std::memcpy(&f, buf.data() + i * 4, 4);
          v = f;
        } else {
          std::memcpy(&v, buf.data() + i * 8, 8);
        }
        if (!std::isfinite(v) && s.nonfinite++ == 0) {
          s.first_bad = (s.got + i * fsize) / per_voxel;
          s.first_bad_value = v;
        }
      }
    }
    s.got += r;
    if (r < want) break;
  }
  if (gz && s.got == s.expected) {
    // Read past the data so that zlib reaches the gzip trailer and verifies its CRC.
    unsigned char extra[64];
    while (true) {
      const std::size_t r = znzread(extra, 1, sizeof extra, fp);
      if (r > sizeof extra) s.corrupt = true;
      if (r == 0 || r > sizeof extra) break;
    }
  }
  znzclose(fp);
  return s;
}

std::string lower_extension(const fs::path& p) {
  std::string name = p.filename().string();
  const auto dot = name.find('.');
  if (dot == std::string::npos) return name;
  std::transform(name.begin() + static_cast<std::ptrdiff_t>(dot), name.end(), name.begin() + static_cast<std::ptrdiff_t>(dot),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string nonfinite_message(std::size_t count, std::size_t first, double value, std::size_t nx, std::size_t ny) {
  return fmt::format("contains {} NaN/Inf voxel{} (first at voxel x={} y={} z={}: {})", count, count == 1 ? "" : "s",
                     first % nx, (first / nx) % ny, first / (nx * ny), value);
}

template <typename T>
typename itk::Image<T, 3>::Pointer wrap(const Volume<T>& v, const fs::path& path) {
  const Geometry& g = v.geom;
  if (g.voxel_count() == 0) throw std::invalid_argument(path.string() + ": cannot write an empty image");
  if (v.voxels.size() != g.voxel_count())
    throw std::invalid_argument(fmt::format("{}: image holds {} voxels but its geometry {}x{}x{} needs {}",
                                            path.string(), v.voxels.size(), g.size[0], g.size[1], g.size[2],
                                            g.voxel_count()));
  return itk_view(v);  // the writer only reads the buffer
}

// ITK's writers ignore failed writes (a full disk gives a truncated file and no error): read back what was written.
void verify_written(const fs::path& file, std::size_t voxels) {
  const std::string lname = lower_extension(file);
  const bool nifti = lname.size() >= 4 && (lname.compare(lname.size() - 4, 4, ".nii") == 0 ||
                                           (lname.size() >= 7 && lname.compare(lname.size() - 7, 7, ".nii.gz") == 0));
  if (nifti) {
    const NiftiScan s = scan_nifti(file.string());
    if (!s.header_ok) throw std::runtime_error("the header cannot be read back");
    if (s.got < s.expected)
      throw std::runtime_error(fmt::format("voxel data end after {} of {} bytes", s.got, s.expected));
    if (s.corrupt) throw std::runtime_error("compressed data fail their integrity check");
    if (s.expected == 0 && voxels > 0) throw std::runtime_error("no voxel data");
    return;
  }
  auto reader = itk::ImageFileReader<FloatImage>::New();
  reader->SetFileName(file.string());
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw std::runtime_error(one_line(e.GetDescription()));
  }
}

template <typename T>
void write_volume(const fs::path& path, const Volume<T>& v) {
  ensure_io_factories();
  auto img = wrap(v, path);
  try {
    write_atomically(path, [&](const fs::path& tmp) {
      auto write = [&](const fs::path& file) {
        using WriterT = itk::ImageFileWriter<itk::Image<T, 3>>;
        auto writer = WriterT::New();
        writer->SetFileName(file.string());
        writer->SetInput(img);
        writer->SetUseCompression(true);  // only honoured by compressed formats (.nii.gz, .nrrd, .mha)
        writer->Update();
      };
      // ITK's writers only recognise lower-case extensions (".NII.GZ" is a "bad Nifti file name"):
      // write under a lower-cased extension, then move into place.
      const fs::path lower = tmp.parent_path() / lower_extension(tmp);
      if (lower == tmp) return write(tmp);
      try {
        write(lower);
        fs::rename(lower, tmp);
      } catch (...) {
        std::error_code ec;
        fs::remove(lower, ec);
        throw;
      }
    }, [&](const fs::path& tmp) { verify_written(tmp, v.geom.voxel_count()); });
  } catch (const itk::ExceptionObject& e) {
    fail(path, "cannot write image: " + one_line(e.GetDescription()));
  } catch (const fs::filesystem_error& e) {
    fail(path, std::string("cannot write image: ") + e.what());
  }
}

}  // namespace

void check_readable_file(const fs::path& path) {
  if (path.empty()) throw InputError("empty file name");
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    const int err = errno;
    struct stat lst {};
    if (err == ENOENT && lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      std::error_code ec;
      const fs::path to = fs::read_symlink(path, ec);
      fail(path, "broken symbolic link" + (ec ? std::string() : " (points to " + to.string() + ", which does not exist)"));
    }
    if (err == ENOENT) fail(path, "file not found");
    if (err == ELOOP) fail(path, "cannot open: too many levels of symbolic links (a link loop?)");
    fail(path, "cannot open: " + std::error_code(err, std::generic_category()).message());
  }
  if (S_ISDIR(st.st_mode)) fail(path, "is a folder, expected an image file");
  if (!S_ISREG(st.st_mode))
    fail(path, std::string("is not a regular file (") +
                   (S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device") +
                   "), expected an image file");
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open: " + std::error_code(errno, std::generic_category()).message());
  close(fd);
}

Image read_image(const fs::path& path, bool reject_all_zero) {
  ensure_io_factories();
  check_readable_file(path);
  std::error_code ec;
  const auto file_size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot access file: " + ec.message());
  if (file_size == 0) fail(path, "file is empty (0 bytes)");

  const std::string name = path.string();
  itk::ImageIOBase::Pointer io = itk::ImageIOFactory::CreateImageIO(name.c_str(), itk::IOFileModeEnum::ReadMode);
  if (!io) {
    std::string lname = path.filename().string();
    std::transform(lname.begin(), lname.end(), lname.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool nifti_ext = lname.size() > 4 && (lname.find(".nii") != std::string::npos ||
                                                lname.rfind(".hdr") == lname.size() - 4 ||
                                                lname.rfind(".img") == lname.size() - 4);
    fail(path, nifti_ext ? "not a readable image: corrupt or truncated NIfTI header, or not NIfTI data at all"
                         : "not a readable image: unknown format or corrupt header (supported: NIfTI .nii/.nii.gz, "
                           "NRRD .nrrd/.nhdr, MetaImage .mha/.mhd)");
  }
  if (std::string(io->GetNameOfClass()) == "NiftiImageIO") check_nifti_header(path);
  try {
    io->SetFileName(name);
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    fail(path, "corrupt image header: " + one_line(e.GetDescription()));
  }

  const unsigned ndim = io->GetNumberOfDimensions();
  std::vector<std::size_t> dims(ndim);
  for (unsigned i = 0; i < ndim; ++i) dims[i] = io->GetDimensions(i);
  auto dims_str = [&] {
    std::string s;
    for (unsigned i = 0; i < ndim; ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
    return s;
  };
  if (ndim < 3) fail(path, fmt::format("image is {}D, expected a 3D volume (size {})", ndim, dims_str()));
  for (unsigned i = 3; i < ndim; ++i)
    if (dims[i] > 1) fail(path, fmt::format("image is {}D, expected a single 3D volume (size {})", ndim, dims_str()));
  if (std::count_if(dims.begin(), dims.begin() + 3, [](std::size_t d) { return d > 1; }) < 3)
    fail(path, fmt::format("image is 2D, expected a 3D volume (a single slice of size {})", dims_str()));
  if (io->GetNumberOfComponents() != 1)
    fail(path, fmt::format("has {} components per voxel (e.g. RGB or vector data), expected a scalar image",
                           io->GetNumberOfComponents()));
  const double nvox = static_cast<double>(dims[0]) * static_cast<double>(dims[1]) * static_cast<double>(dims[2]);
  if (nvox > 2147483647.0) fail(path, fmt::format("image declares {} voxels ({}), too large", nvox, dims_str()));

  // For NIfTI, check the voxel stream (truncation, NaN/Inf) on a second thread while ITK reads.
  const bool is_nifti = std::string(io->GetNameOfClass()) == "NiftiImageIO";
  std::future<NiftiScan> scan;
  std::optional<NiftiScan> scanned;
  auto check_stream = [&](const NiftiScan& s) {
    if (s.header_ok && s.got < s.expected)
      fail(path, fmt::format("truncated or corrupt file: voxel data ends after {} of {} bytes", s.got, s.expected));
    if (s.corrupt) fail(path, "truncated or corrupt file: compressed data fails its integrity check (CRC)");
  };
  // A small file may declare far more voxel data than it holds: ITK would allocate it, niftilib zero-fill it and ITK
  // convert it to floats (9 s and 1.4 GB for 600 bytes declaring 254 MB of uint8 under AddressSanitizer; fuzz_nifti
  // timed out on such an input). The stream is checked first, before anything is allocated, when the declared data
  // is large (> 256 MB) or cannot fit in the file: more than its size, or for .nii.gz more than deflate's largest
  // expansion of it (1032:1). Then the scan only reads what is there.
  const double declared = nvox * static_cast<double>(io->GetComponentSize());
  const std::string lname = lower_extension(path);
  auto ends = [&](const char* s) {
    const std::size_t n = std::strlen(s);
    return lname.size() >= n && lname.compare(lname.size() - n, n, s) == 0;
  };
  const double most = ends(".nii") ? static_cast<double>(file_size)
                      : ends(".nii.gz") ? 1032.0 * static_cast<double>(file_size)
                                        : std::numeric_limits<double>::infinity();  // .hdr/.img: data elsewhere
  if (is_nifti && (declared > 256e6 || declared > most)) {
    scanned = scan_nifti(name);
    check_stream(*scanned);
  } else if (is_nifti) {
    try {
      scan = std::async(std::launch::async, scan_nifti, name);
    } catch (const std::system_error&) {  // no thread available: scan after the read instead
      scan = std::async(std::launch::deferred, scan_nifti, name);
    }
  }

  using ReaderT = itk::ImageFileReader<FloatImage>;
  auto reader = ReaderT::New();
  reader->SetFileName(name);
  reader->SetImageIO(io);
  std::string read_error;
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    const std::string d = one_line(e.GetDescription());
    read_error = d.find("allocate") != std::string::npos
                     ? "cannot read voxel data: out of memory for " + dims_str() + " voxels"
                     : "cannot read voxel data (truncated or corrupt file?): " + d;
  } catch (const std::bad_alloc&) {
    read_error = "cannot read voxel data: out of memory for " + dims_str() + " voxels";
  } catch (const std::exception& e) {
    read_error = std::string("cannot read voxel data (truncated or corrupt file?): ") + one_line(e.what());
  }
  if (is_nifti) {
    const NiftiScan s = scanned ? *scanned : scan.get();
    check_stream(s);
    if (read_error.empty() && s.nonfinite)
      fail(path, nonfinite_message(s.nonfinite, s.first_bad, s.first_bad_value, s.nx, s.ny));
  }
  if (!read_error.empty()) fail(path, read_error);
  FloatImage* out = reader->GetOutput();

  Image img;
  img.geom = geometry_of(*out);
  for (int i = 0; i < 3; ++i)
    if (!(img.geom.spacing[i] > 0.0) || !std::isfinite(img.geom.spacing[i]))
      fail(path, fmt::format("invalid voxel spacing {:g} along axis {}", img.geom.spacing[i], i));
  for (double d : img.geom.direction)
    if (!std::isfinite(d)) fail(path, "invalid (non-finite) orientation matrix");
  for (double o : img.geom.origin)
    if (!std::isfinite(o)) fail(path, "invalid (non-finite) origin");

  const std::size_t n = img.geom.voxel_count();
  const float* buf = out->GetBufferPointer();
  img.voxels.assign(buf, buf + n);
  reader = nullptr;  // release ITK's buffer early

  std::size_t nonfinite = 0, first_bad = 0;
  bool any_nonzero = false;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = img.voxels[i];
    if (!std::isfinite(v)) {
      if (nonfinite++ == 0) first_bad = i;
    } else if (v != 0.0f) {
      any_nonzero = true;
    }
  }
  if (nonfinite)
    fail(path, nonfinite_message(nonfinite, first_bad, img.voxels[first_bad], img.geom.size[0], img.geom.size[1]));
  if (reject_all_zero && !any_nonzero) fail(path, "all voxels are zero (empty image)");
  return img;
}

LabelMap read_labels(const fs::path& path) {
  Image f = read_image(path, /*reject_all_zero=*/false);
  LabelMap out;
  out.geom = f.geom;
  out.voxels.resize(f.voxels.size());
  std::set<float> unknown;
  std::size_t n_unknown = 0;
  for (std::size_t i = 0; i < f.voxels.size(); ++i) {
    const float v = f.voxels[i];
    std::uint8_t l = 0;
    if (v == 0.0f) l = 0;
    else if (v == 1.0f) l = 1;
    else if (v == 2.0f) l = 2;
    else if (v == 3.0f || v == 4.0f) l = 4;  // BraTS 2023 writes ET as 3
    else {
      ++n_unknown;
      if (unknown.size() < 8) unknown.insert(v);
    }
    out.voxels[i] = l;
  }
  if (n_unknown) {
    std::string vals;
    for (float v : unknown) vals += (vals.empty() ? "" : ", ") + fmt::format("{:g}", v);
    if (unknown.size() >= 8) vals += ", ...";
    fail(path, fmt::format("segmentation holds unknown label value{} {} in {} voxel{} (expected 0, 1, 2, 4; 3 is "
                           "read as 4)",
                           unknown.size() == 1 ? "" : "s", vals, n_unknown, n_unknown == 1 ? "" : "s"));
  }
  return out;
}

void write_image(const fs::path& path, const Image& img) { write_volume(path, img); }

void write_labels(const fs::path& path, const LabelMap& labels) {
  bool has3 = false;
  for (std::uint8_t v : labels.voxels) {
    if (v == 3) has3 = true;
    else if (v > 4)
      throw std::invalid_argument(path.string() + ": label map holds unknown label " + std::to_string(v) +
                                  " (expected 0, 1, 2, 4)");
  }
  if (!has3) return write_volume(path, labels);
  LabelMap copy = labels;  // BraTS output convention: ET is written as 4
  for (auto& v : copy.voxels)
    if (v == 3) v = 4;
  write_volume(path, copy);
}

}  // namespace gmd::io
