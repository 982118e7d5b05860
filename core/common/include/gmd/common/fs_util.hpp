#pragma once
// Checked, atomic file output and the small file-system helpers every layer shares.
//
// Guarantees of the write_* functions (docs/reliability.md):
//  - the target appears only complete: data go to a temporary sibling "<stem>.gmdtmp-<pid>-<n><ext>", which is
//    flushed to disk (fsync), checked (size, then the caller's `verify`), and only then renamed over the target;
//  - any failure (ENOSPC, EACCES, EROFS, EFBIG, a failed check) throws gmd::InputError naming the target and the
//    cause, removes the temporary and leaves an existing target untouched;
//  - temporaries left by a process that died (kill -9, power loss) are removed by the next write into the same
//    folder; SIGINT/SIGTERM/SIGHUP remove the current process's own (install_temp_cleanup_handlers()).
#include <filesystem>
#include <functional>
#include <string>

namespace gmd {

// Writes a file atomically: `writer` writes to a temporary sibling path, which is then synced, checked (non-empty,
// then `verify` if given: it throws if the written file is not what it should be) and renamed over `target`.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& tmp)>& writer,
                      const std::function<void(const std::filesystem::path& tmp)>& verify = {});
// Convenience: atomically writes a text/binary string (POSIX writes: the cause of a failure is known exactly).
void write_text_atomically(const std::filesystem::path& target, const std::string& content);
// Multi-file outputs: `writer` fills a temporary sibling folder; on success its files are moved into `target`
// (created if needed; files of the same name replaced, others kept); on failure the temporary folder is removed and
// `target` is untouched. `target` must not be an existing file.
void write_folder_atomically(const std::filesystem::path& target,
                             const std::function<void(const std::filesystem::path& tmp_dir)>& writer);
// Reads a whole file; throws InputError naming the file if it cannot be read.
std::string read_text(const std::filesystem::path& path);

// Why writing into `dir` may have failed when the writer could not say (e.g. ITK ignores write errors): "no space
// left on device", "file size limit reached", "read-only file system", ... or "" if nothing is wrong that we can see.
std::string diagnose_write_failure(const std::filesystem::path& dir, const std::filesystem::path& partial = {});
// Checks that `path` may be created as an output: an existing folder -> "is a folder", missing parent that cannot be
// created, no write permission... Throws InputError("<what> <path>: <problem>").
void check_output_file(const std::filesystem::path& path, const std::string& what = "output");
// `path` as a folder output: must not be an existing non-folder.
void check_output_folder(const std::filesystem::path& path, const std::string& what = "output folder");
// True if a and b name the same existing file (or folder), through links and relative paths.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// Removes temporaries of ours in `dir` whose process is gone. Returns how many were removed.
int remove_stale_temporaries(const std::filesystem::path& dir);
// SIGINT/SIGTERM/SIGHUP: remove this process's temporaries in flight, then die of the signal as before. Idempotent.
// A handler installed later (e.g. the trainer's graceful stop) replaces it for the signals it handles.
void install_temp_cleanup_handlers();

// SHA-256 of a file as 64 lower-case hex digits (OpenSSL's libcrypto); "" if this build has no libcrypto
// (sha256_available() false: the engine-only build). Throws InputError if the file cannot be read.
std::string sha256_file(const std::filesystem::path& path);
std::string sha256_text(const std::string& bytes);
bool sha256_available();

}  // namespace gmd
