#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace gmd {

// Writes a file atomically: `writer` writes to a temporary sibling path, which is then
// renamed over `target`. On any exception the temporary file is removed and `target`
// is left untouched.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& tmp)>& writer);
// Convenience: atomically writes a text/binary string.
void write_text_atomically(const std::filesystem::path& target, const std::string& content);
// Reads a whole file; throws InputError naming the file if it cannot be read.
std::string read_text(const std::filesystem::path& path);

}  // namespace gmd
