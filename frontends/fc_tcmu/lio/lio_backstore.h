// LIO's side of a Portico TCMU backstore: the configfs folder target/core/user_<N>/<name> whose
// `enable` makes target_core_user register the /dev/uioN that porticod maps.
//
// Settings written before `enable`, and why (kernel 6.1 sources cited):
// - control "dev_size=..,dev_config=portico/<config>,hw_block_size=..[,hw_max_sectors=..]":
//   target_core_user.c, tcmu_set_configfs_dev_params. hw_block_size and hw_max_sectors can only be
//   given here (their attrib files are read-only for passthrough devices).
// - attrib/pgr_support = 0: sets TRANSPORT_FLAG_PASSTHROUGH_PGR, so PERSISTENT RESERVE IN/OUT and
//   RESERVE/RELEASE reach the handler instead of LIO's own, gateway-local emulation
//   (target_core_device.c, passthrough_parse_cdb; target_core_pr.c, target_check_reservation).
//   TCMU has the flag changeable since 5.9 (tcmu_ops.transport_flags_changeable).
// - attrib/emulate_pr = 1: must stay on. With emulate_pr = 0 passthrough_parse_cdb answers every
//   PR and RESERVE/RELEASE command with INVALID COMMAND OPERATION CODE before the ring sees it.
// - attrib/alua_support = 0: sets TRANSPORT_FLAG_PASSTHROUGH_ALUA, so LIO applies no access-state
//   check of its own (target_core_alua.c, target_alua_state_check); Portico's ALUA state is
//   cluster-wide and answered by the handler. Only warned about when the kernel refuses it.
// - attrib/tmr_notification = 1 (kernel >= 5.11, skipped when absent): LIO puts a TMR entry on
//   the ring naming the aborted command ids (target_core_user.c, tcmu_tmr_notify).
// - attrib/emulate_write_cache: written before enable, because once the device is configured a
//   write sends a TCMU_CMD_RECONFIG_DEVICE netlink event (tcmu_emulate_write_cache_store).
//
// What LIO still answers itself for a TCMU device, whatever the handler does:
// - REPORT LUNS, from the fabric's LUN mapping (passthrough_parse_cdb).
// - Unit attentions LIO queued itself (LUN inventory changed, LUN reset on the resetting nexus):
//   reported before the command reaches the ring (target_core_transport.c, __target_execute_cmd,
//   target_scsi3_ua_check).
// - Task management (ABORT TASK, LUN RESET, ...): LIO's; the handler is only notified (above).
// - Command timeout: LIO fails a ring command itself after attrib/cmd_time_out (30 s default).
// Task attributes are not applied to passthrough devices (target_handle_task_attr,
// transport_check_alloc_task_attr) and the ring entry does not carry them. Everything else
// (INQUIRY, READ CAPACITY, MODE SENSE, REPORT TARGET PORT GROUPS, PR, I/O) reaches the handler.
//
// Threading: with TcmuNetlink open, the kernel holds the `enable` write (and rmdir) until porticod
// answers the netlink event, so ensure() and remove() must not run on the thread that calls
// TcmuNetlink::process().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace portico::tcmu {

// The handler name porticod owns in dev_config: the uio name ends with "/portico/<config>".
inline constexpr std::string_view kHandlerSubtype = "portico";

struct BackstoreSpec {
  std::string name;           // backstore folder: target/core/user_<N>/<name>
  std::string config;         // dev_config = "portico/<config>"
  uint64_t size_bytes = 0;    // dev_size; a multiple of block_size
  uint32_t block_size = 512;  // hw_block_size: 512, 1024, 2048 or 4096
  uint32_t max_sectors = 0;   // hw_max_sectors (0: the kernel's default, 128)
  bool write_cache = false;   // attrib/emulate_write_cache
};

struct Backstore {             // what porticod needs to map the ring
  std::string configfs_path;   // .../target/core/user_<N>/<name>
  std::string uio_device;      // "/dev/uioN"
  uint64_t map_size = 0;       // /sys/class/uio/uioN/maps/map0/size
  bool existed = false;        // already there and enabled (porticod restarted): re-attached, not created
};

class LioConfigfs {
 public:
  explicit LioConfigfs(std::filesystem::path configfs_target_root = "/sys/kernel/config/target",
                       std::filesystem::path sysfs_uio_root = "/sys/class/uio",
                       std::filesystem::path dev_root = "/dev");

  // Creates, configures and enables the backstore; or re-attaches to the enabled one of the same
  // name after a porticod restart, checking its dev_config and size (a mismatch is an error naming
  // both values). A new backstore gets the first user_<N> folder that does not exist yet; a
  // folder left half-made (not enabled) is configured and enabled. On failure before enable, the
  // folders this call created are removed again.
  Result<Backstore> ensure(const BackstoreSpec& spec);

  // Removes the backstore folder, then its user_<N> folder when that is left empty. LIO refuses
  // (EBUSY) while a fabric LUN still links to the backstore; that is reported as ErrorCode::busy.
  Status remove(const std::string& configfs_path);
  // After a handler restart: the kernel ends every command still in the ring BUSY (retryable;
  // the host sends it again) and empties the ring, so nothing the previous handler read is
  // answered twice or lost (target_core_user.c, tcmu_reset_ring with 1). The device is blocked
  // meanwhile (action/block_dev), so no command is queued half-way through.
  Status reset_ring(const std::string& configfs_path);

 private:
  struct Location {
    std::filesystem::path path;  // .../core/user_<N>/<name>
    uint32_t hba = 0;            // N
    bool hba_created = false;
    bool backstore_created = false;
  };

  Status check_core_present() const;
  Result<Location> locate_or_create(const std::string& name);
  Status configure(const std::filesystem::path& backstore, const BackstoreSpec& spec);
  Status check_existing(const std::filesystem::path& backstore, const BackstoreSpec& spec);
  Result<Backstore> attach(const Location& location, const BackstoreSpec& spec, bool existed);
  void undo(const Location& location);

  std::filesystem::path core_;  // <configfs_target_root>/core
  std::filesystem::path sysfs_uio_root_;
  std::filesystem::path dev_root_;
};

}  // namespace portico::tcmu
