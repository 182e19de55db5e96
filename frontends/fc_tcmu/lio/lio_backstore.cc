#include "frontends/fc_tcmu/lio/lio_backstore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "frontends/fc_tcmu/lio/attribute_file.h"
#include "frontends/fc_tcmu/lio/uio_device.h"

namespace portico::tcmu {
namespace {

namespace fs = std::filesystem;

// tcmu's dev_config buffer is TCMU_CONFIG_LEN (256) bytes including its NUL
// (target_core_user.c); a longer value would be cut silently and the uio name would not match.
constexpr size_t kMaxDevConfigLength = 255;

std::string dev_config_of(const BackstoreSpec& spec) {
  return std::string(kHandlerSubtype) + "/" + spec.config;
}

Status invalid(const BackstoreSpec& spec, const std::string& why) {
  return {ErrorCode::invalid_argument, "backstore \"" + spec.name + "\": " + why};
}

Status validate(const BackstoreSpec& spec) {
  if (spec.name.empty() || spec.name == "." || spec.name == ".." ||
      spec.name.find_first_of("/\n") != std::string::npos) {
    return invalid(spec, "not a usable configfs folder name");
  }
  // The control file splits its options on ',' and '\n' (tcmu_set_configfs_dev_params).
  if (spec.config.empty() || spec.config.find_first_of(",\n") != std::string::npos ||
      spec.config.find('\0') != std::string::npos) {
    return invalid(spec, "config \"" + spec.config + "\" must be non-empty without ',' or newlines");
  }
  if (dev_config_of(spec).size() > kMaxDevConfigLength) {
    return invalid(spec, "dev_config \"" + dev_config_of(spec) + "\" is longer than " +
                             std::to_string(kMaxDevConfigLength) + " bytes");
  }
  // The block sizes LIO accepts for a device (target_core_configfs.c, block_size_store).
  if (spec.block_size != 512 && spec.block_size != 1024 && spec.block_size != 2048 && spec.block_size != 4096) {
    return invalid(spec, "block size " + std::to_string(spec.block_size) + " is not 512, 1024, 2048 or 4096");
  }
  if (spec.size_bytes < spec.block_size || spec.size_bytes % spec.block_size != 0) {
    return invalid(spec, "size " + std::to_string(spec.size_bytes) + " is not a positive multiple of the block size " +
                             std::to_string(spec.block_size));
  }
  // hw_max_sectors is parsed with match_int (tcmu_set_dev_attrib).
  if (spec.max_sectors > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
    return invalid(spec, "max_sectors " + std::to_string(spec.max_sectors) + " is out of range");
  }
  return {};
}

// N of an HBA folder "user_<N>", in the canonical decimal form this code creates. The kernel parses
// N with kstrtoul base 0 (target_core_call_addhbatotarget), so "user_010" would be HBA 8: such
// folders are left alone.
std::optional<uint32_t> hba_number(std::string_view folder) {
  constexpr std::string_view prefix = "user_";
  if (folder.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = folder.substr(prefix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

Status make_folder(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0) {
    int error = errno;
    return {error == EEXIST ? ErrorCode::already_exists : ErrorCode::io_error,
            "mkdir " + path.string() + ": " + errno_text(error)};
  }
  return {};
}

int remove_folder(const fs::path& path) { return ::rmdir(path.c_str()) == 0 ? 0 : errno; }

Status write_flag(const fs::path& backstore, const char* attribute, bool on) {
  return write_attribute(backstore / "attrib" / attribute, on ? "1" : "0");
}

// The settings that hand cluster-wide SCSI state to the handler (see the header). They change no
// netlink state, so they are applied on re-attach too.
Status apply_passthrough(const fs::path& backstore) {
  if (auto st = write_flag(backstore, "emulate_pr", true); !st.ok()) return st;
  if (auto st = write_flag(backstore, "pgr_support", false); !st.ok()) {
    return {st.code(), st.message() + " (persistent reservations must reach the handler; needs kernel >= 5.9)"};
  }
  if (auto st = write_flag(backstore, "alua_support", false); !st.ok()) {
    spdlog::warn("tcmu: {}: LIO keeps its own ALUA access-state check", st.message());
  }
  fs::path tmr = backstore / "attrib" / "tmr_notification";
  std::error_code ec;
  if (fs::exists(tmr, ec)) {
    if (auto st = write_attribute(tmr, "1"); !st.ok()) return st;
  } else {
    spdlog::info("tcmu: {} has no attrib/tmr_notification (kernel < 5.11): aborts will not be announced on the ring",
                 backstore.string());
  }
  return {};
}

}  // namespace

LioConfigfs::LioConfigfs(fs::path configfs_target_root, fs::path sysfs_uio_root, fs::path dev_root)
    : core_(std::move(configfs_target_root) / "core"),
      sysfs_uio_root_(std::move(sysfs_uio_root)),
      dev_root_(std::move(dev_root)) {}

Status LioConfigfs::check_core_present() const {
  std::error_code ec;
  if (!fs::is_directory(core_, ec)) {
    return {ErrorCode::unsupported, "LIO configfs not found at " + core_.string() +
                                        ": load target_core_mod and target_core_user, and mount configfs "
                                        "(mount -t configfs none /sys/kernel/config)"};
  }
  return {};
}

Result<LioConfigfs::Location> LioConfigfs::locate_or_create(const std::string& name) {
  std::optional<Location> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(core_, ec)) {
    auto n = hba_number(entry.path().filename().string());
    std::error_code exists_ec;
    if (!n || !fs::exists(entry.path() / name, exists_ec)) continue;
    if (!found || *n < found->hba) found = Location{entry.path() / name, *n, false, false};
  }
  if (ec) return Status{ErrorCode::io_error, "list " + core_.string() + ": " + ec.message()};
  if (found) return *found;

  // The first user_<N> folder that does not exist yet; mkdir makes LIO create the HBA.
  Location location;
  for (uint32_t n = 0;; ++n) {
    std::error_code exists_ec;
    fs::path hba = core_ / ("user_" + std::to_string(n));
    if (fs::exists(hba, exists_ec)) continue;
    Status st = make_folder(hba);
    if (st.code() == ErrorCode::already_exists) continue;  // another process took it meanwhile
    if (!st.ok()) return st;
    location = Location{hba / name, n, true, false};
    break;
  }
  if (Status st = make_folder(location.path); !st.ok()) {
    undo(location);
    return st;
  }
  location.backstore_created = true;
  spdlog::info("tcmu: created backstore {}", location.path.string());
  return location;
}

Status LioConfigfs::configure(const fs::path& backstore, const BackstoreSpec& spec) {
  std::string control = "dev_size=" + std::to_string(spec.size_bytes) + ",dev_config=" + dev_config_of(spec) +
                        ",hw_block_size=" + std::to_string(spec.block_size);
  if (spec.max_sectors != 0) control += ",hw_max_sectors=" + std::to_string(spec.max_sectors);
  if (auto st = write_attribute(backstore / "control", control); !st.ok()) return st;
  if (auto st = apply_passthrough(backstore); !st.ok()) return st;
  if (auto st = write_flag(backstore, "emulate_write_cache", spec.write_cache); !st.ok()) return st;
  // target_configure_device: registers the uio device, then sends TCMU_CMD_ADDED_DEVICE and, when
  // a handler asked for replies, waits for it before this write returns.
  return write_attribute(backstore / "enable", "1");
}

Status LioConfigfs::check_existing(const fs::path& backstore, const BackstoreSpec& spec) {
  auto config = read_attribute(backstore / "attrib" / "dev_config");
  if (!config.ok()) return config.status();
  if (*config != dev_config_of(spec)) {
    return {ErrorCode::already_exists, "backstore " + backstore.string() + " exists with dev_config \"" + *config +
                                           "\", not \"" + dev_config_of(spec) + "\""};
  }
  auto size_text = read_attribute(backstore / "attrib" / "dev_size");
  if (!size_text.ok()) return size_text.status();
  auto size = parse_unsigned(*size_text, backstore / "attrib" / "dev_size");
  if (!size.ok()) return size.status();
  if (*size != spec.size_bytes) {
    return {ErrorCode::already_exists, "backstore " + backstore.string() + " exists with size " +
                                           std::to_string(*size) + " bytes, configured size is " +
                                           std::to_string(spec.size_bytes) + " bytes"};
  }
  return {};
}

Result<Backstore> LioConfigfs::attach(const Location& location, const BackstoreSpec& spec, bool existed) {
  std::string uio_name = tcmu_uio_name(location.hba, spec.name, dev_config_of(spec));
  auto uio = find_uio_device(sysfs_uio_root_, dev_root_, uio_name);
  if (!uio.ok()) {
    return Status{uio.status().code(), "backstore " + location.path.string() + ": " + uio.status().message()};
  }
  spdlog::info("tcmu: backstore {} {} as {} ({} bytes to map)", location.path.string(),
               existed ? "re-attached" : "enabled", uio->device, uio->map_size);
  return Backstore{location.path.string(), uio->device, uio->map_size, existed};
}

void LioConfigfs::undo(const Location& location) {
  if (location.backstore_created) {
    if (int error = remove_folder(location.path); error != 0) {
      spdlog::warn("tcmu: rmdir {} after a failed setup: {}", location.path.string(), errno_text(error));
    }
  }
  if (location.hba_created) {
    fs::path hba = location.path.parent_path();
    if (int error = remove_folder(hba); error != 0) {
      spdlog::warn("tcmu: rmdir {} after a failed setup: {}", hba.string(), errno_text(error));
    }
  }
}

Result<Backstore> LioConfigfs::ensure(const BackstoreSpec& spec) {
  if (auto st = validate(spec); !st.ok()) return st;
  if (auto st = check_core_present(); !st.ok()) return st;
  auto location = locate_or_create(spec.name);
  if (!location.ok()) return location.status();

  if (!location->backstore_created) {
    // `enable` shows whether the device is configured (target_dev_enable_show); it cannot be
    // written twice (target_configure_device answers EEXIST).
    auto enabled = read_attribute(location->path / "enable");
    if (!enabled.ok()) return enabled.status();
    if (*enabled == "1") {
      if (auto st = check_existing(location->path, spec); !st.ok()) return st;
      if (auto st = apply_passthrough(location->path); !st.ok()) return st;
      return attach(*location, spec, true);
    }
    spdlog::info("tcmu: backstore {} exists but is not enabled: configuring it", location->path.string());
  }
  if (auto st = configure(location->path, spec); !st.ok()) {
    undo(*location);
    return Status{st.code(), "backstore " + location->path.string() + ": " + st.message()};
  }
  return attach(*location, spec, false);
}

Status LioConfigfs::remove(const std::string& configfs_path) {
  fs::path backstore(configfs_path);
  if (int error = remove_folder(backstore); error != 0) {
    if (error == ENOENT) return {ErrorCode::not_found, "backstore " + configfs_path + " does not exist"};
    if (error == EBUSY) {
      return {ErrorCode::busy, "backstore " + configfs_path + " is still in use (rmdir: " + errno_text(error) +
                                   "): remove the fabric LUN that links to it first"};
    }
    return {ErrorCode::io_error, "rmdir " + configfs_path + ": " + errno_text(error)};
  }
  spdlog::info("tcmu: removed backstore {}", configfs_path);
  // One HBA per backstore: drop the user_<N> folder too unless another backstore lives in it.
  fs::path hba = backstore.parent_path();
  if (hba_number(hba.filename().string())) {
    int error = remove_folder(hba);
    if (error != 0 && error != ENOTEMPTY && error != EBUSY) {
      spdlog::warn("tcmu: rmdir {}: {}", hba.string(), errno_text(error));
    }
  }
  return {};
}

Status LioConfigfs::reset_ring(const std::string& configfs_path) {
  const std::filesystem::path action = std::filesystem::path(configfs_path) / "action";
  if (Status s = write_attribute(action / "block_dev", "1"); !s.ok()) return s;
  Status reset = write_attribute(action / "reset_ring", "1");
  Status unblock = write_attribute(action / "block_dev", "0");
  return reset.ok() ? unblock : reset;
}

}  // namespace portico::tcmu
