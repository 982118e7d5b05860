#pragma once
// Error types shared by all layers. Messages are one line, name the file and the problem.
#include <stdexcept>
#include <string>

namespace gmd {

// Bad input data: unreadable/corrupt files, mismatched geometry, NaNs, wrong model... (CLI exit 2)
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Bad usage: unknown option values, impossible combinations. (CLI exit 2)
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A process of a multi-process training died, hung past the timeout, or never joined (gmd train: exit 3, so a
// launcher can tell the rank that failed first from those that lost it).
struct DistError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline constexpr int kExitLostPeer = 3;
// A long operation was cancelled by the user.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace gmd
