// A temporary directory standing in for configfs (target/core), sysfs (class/uio) and /dev. A
// plain mkdir creates no attribute files, so the tests create a backstore folder the way the
// kernel would fill it, then check what LioConfigfs wrote into it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace portico::tcmu::testing {

class FakeKernelTree {
 public:
  FakeKernelTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "portico-lio-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    std::filesystem::create_directories(core());
    std::filesystem::create_directories(uio_root());
    std::filesystem::create_directories(dev_root());
  }
  ~FakeKernelTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeKernelTree(const FakeKernelTree&) = delete;
  FakeKernelTree& operator=(const FakeKernelTree&) = delete;

  [[nodiscard]] std::filesystem::path target_root() const { return root_ / "target"; }
  [[nodiscard]] std::filesystem::path core() const { return root_ / "target" / "core"; }
  [[nodiscard]] std::filesystem::path uio_root() const { return root_ / "class" / "uio"; }
  [[nodiscard]] std::filesystem::path dev_root() const { return root_ / "dev"; }

  // The files target_core_user gives a user_<hba>/<name> backstore, with the kernel's defaults.
  std::filesystem::path add_backstore(uint32_t hba, const std::string& name) {
    std::filesystem::path dir = core() / ("user_" + std::to_string(hba)) / name;
    std::filesystem::create_directories(dir / "attrib");
    put(dir / "control", "");
    put(dir / "enable", "0\n");
    put(dir / "attrib" / "emulate_pr", "1\n");
    put(dir / "attrib" / "pgr_support", "1\n");
    put(dir / "attrib" / "alua_support", "1\n");
    put(dir / "attrib" / "tmr_notification", "0\n");
    put(dir / "attrib" / "emulate_write_cache", "0\n");
    put(dir / "attrib" / "dev_config", "\n");
    put(dir / "attrib" / "dev_size", "0\n");
    return dir;
  }

  // An enabled backstore as porticod left it before a restart.
  std::filesystem::path add_enabled_backstore(uint32_t hba, const std::string& name, const std::string& dev_config,
                                              uint64_t size) {
    std::filesystem::path dir = add_backstore(hba, name);
    put(dir / "enable", "1\n");
    put(dir / "attrib" / "dev_config", dev_config + "\n");
    put(dir / "attrib" / "dev_size", std::to_string(size) + "\n");
    put(dir / "attrib" / "pgr_support", "0\n");
    return dir;
  }

  void add_uio(uint32_t minor, const std::string& name, const std::string& map0_size) {
    std::filesystem::path dir = uio_root() / ("uio" + std::to_string(minor));
    std::filesystem::create_directories(dir / "maps" / "map0");
    put(dir / "name", name + "\n");
    put(dir / "maps" / "map0" / "size", map0_size + "\n");
  }

  static void put(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }
  static std::string get(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::filesystem::path root_;
};

}  // namespace portico::tcmu::testing
