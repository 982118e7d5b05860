// gmd: the GMD Studio command line (synth, cache, train, segment, evaluate, ablate, info; train alone in the
// engine-only build).
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#if GMD_CLI_FULL
#include <itkMacro.h>
#endif

namespace {
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gmd - missing-modality robust brain tumour segmentation (DS + GMD)", "gmd"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gmd " GMD_VERSION));
  gmd::install_temp_cleanup_handlers();
  // Past a file-size limit (ulimit -f) a write fails with EFBIG and we say so, like on a full disk, instead of
  // being killed by SIGXFSZ with a partial file.
  std::signal(SIGXFSZ, SIG_IGN);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  // Prints whether tcmalloc is mapped into this process (LibTorch is ~10x faster on CPU with it).
  app.add_flag_callback("--check-allocator", [] {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool found = false;
    while (std::getline(maps, line)) found = found || line.find("libtcmalloc") != std::string::npos;
    std::cout << (found ? "tcmalloc: loaded" : "tcmalloc: NOT loaded") << std::endl;
    std::exit(found ? 0 : 1);
  }, "Report whether tcmalloc is loaded and exit");
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });
#if GMD_CLI_FULL
  gmd::cli::add_synth(app);
  gmd::cli::add_cache(app);
#endif
  gmd::cli::add_train(app);
#if GMD_CLI_FULL
  gmd::cli::add_segment(app);
  gmd::cli::add_evaluate(app);
  gmd::cli::add_ablate(app);
  gmd::cli::add_info(app);
  gmd::cli::add_dicom(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const gmd::UsageError& e) {
    std::cerr << "gmd: usage error: " << e.what() << "\n";
    return 2;
  } catch (const gmd::InputError& e) {
    std::cerr << "gmd: error: " << e.what() << "\n";
    return 2;
  } catch (const gmd::DistError& e) {
    std::cerr << "gmd: error: " << e.what() << "\n";
    return gmd::kExitLostPeer;
  } catch (const gmd::Cancelled&) {
    std::cerr << "gmd: cancelled\n";
    return 130;
  } catch (const std::bad_alloc&) {
    std::cerr << "gmd: error: out of memory (the input is too large for this machine's memory, or a memory limit is "
                 "set)\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // The environment, not a bug: a path that exists as a file where a folder is needed, permissions, a full disk.
    std::string where = e.path1().string();
    if (!e.path2().empty()) where += " -> " + e.path2().string();
    std::cerr << "gmd: error: " << (where.empty() ? std::string() : where + ": ") << e.code().message() << "\n";
    return 2;
#if GMD_CLI_FULL
  } catch (const itk::ExceptionObject& e) {  // ITK refusing an input our own checks let through
    std::cerr << "gmd: error: " << one_line(e.GetDescription()) << "\n";
    return 2;
#endif
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "gmd: error: invalid JSON input: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gmd: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
