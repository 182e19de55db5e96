// Finding the /dev/uioN that target_core_user registered for a backstore, by the name it gave the
// uio device, and the size of the region the handler maps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace portico::tcmu {

struct UioDevice {
  std::string device;    // "/dev/uio3"
  uint64_t map_size = 0;  // bytes to mmap from offset 0: command ring plus data area
};

// The name target_core_user gives a backstore's uio device: "tcm-user/<hba>/<backstore>/<dev_config>",
// where <hba> is the N of the backstore's user_N folder (drivers/target/target_core_user.c,
// tcmu_update_uio_info; the HBA's host_id is the number parsed from the folder name in
// target_core_configfs.c, target_core_call_addhbatotarget).
std::string tcmu_uio_name(uint32_t hba, std::string_view backstore, std::string_view dev_config);

// Scans <sysfs_uio_root>/uio*/name for `uio_name` and reads maps/map0/size (printed as "0x%lx" by
// drivers/uio/uio.c, map_size_show).
Result<UioDevice> find_uio_device(const std::filesystem::path& sysfs_uio_root, const std::filesystem::path& dev_root,
                                  std::string_view uio_name);

}  // namespace portico::tcmu
