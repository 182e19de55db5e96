// The TCMU front-end of porticod: for each configured export it creates (or, after a restart,
// finds) the LIO backstore in configfs, maps its ring and serves it on one of the event loops;
// a thread answers the kernel's TCM-USER netlink events (device added, removed, reconfigured),
// which the kernel waits for. LIO owns the fabric (tcm_loop, qla2xxx, ib_srpt, its iSCSI); the
// core answers every command, including PERSISTENT RESERVE and INQUIRY.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/scsi/scsi_target.h"
#include "runtime/loop_group.h"

namespace portico::tcmu {

struct TcmuExport {
  std::string name;  // the backstore's name in configfs
  std::shared_ptr<scsi::ScsiTarget> target;
  uint64_t lun = 0;
  scsi::ItNexus nexus;
  uint64_t size_bytes = 0;  // the unit's capacity
  uint32_t block_size = 512;
  uint32_t max_transfer_bytes = 0;  // hw_max_sectors from it; 0: LIO's default
  bool write_cache = false;         // the unit has a volatile cache (emulate_write_cache)
};

struct TcmuFrontendSettings {
  std::vector<TcmuExport> exports;
  std::string configfs_root = "/sys/kernel/config/target";
  std::string uio_sysfs_root = "/sys/class/uio";
  std::string dev_root = "/dev";
};

class TcmuFrontend {
 public:
  static Result<std::unique_ptr<TcmuFrontend>> create(TcmuFrontendSettings settings, runtime::LoopGroup& loops);
  virtual ~TcmuFrontend() = default;

  // Creates the backstores and serves them; an error names the export and the configfs path.
  virtual Status start() = 0;
  // Stops serving: waits (at most `grace`) for the commands the core is executing to be
  // answered. The backstores stay: LIO keeps the fabric's view of the LUN, and commands that
  // arrive meanwhile wait in the ring for the next porticod (which resets the ring: BUSY).
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace portico::tcmu
