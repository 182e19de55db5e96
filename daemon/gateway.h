// A running gateway: event loops, backends, logical units, targets and the iSCSI server, built
// from a validated Config and torn down in order.
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "core/common/result.h"
#include "daemon/config.h"

namespace portico::daemon {

// Raised to the process when another gateway has blocklisted this one (RADOS fencing): main()
// then stops the gateway and exits with kFencedExitStatus.
inline constexpr int kFencedSignal = SIGUSR2;
// EX_TEMPFAIL: a new incarnation (a new RADOS client) can serve again, so a service manager
// should start one (Restart=on-failure).
inline constexpr int kFencedExitStatus = 75;

// Checks what the YAML schema cannot: portal addresses parse, file backends' folders exist.
// Creates nothing. Used by --check-config and before start.
Status check_gateway(const Config& config);

// A gateway with cluster.shared_config: its own file merged with a version of the record's YAML,
// the record's secrets read through the fetcher (the gateway's own Ceph client).
using RecordMerger = std::function<Result<Config>(const std::string& record_yaml, const SecretFetcher& fetch)>;

class Gateway {
 public:
  // `config` is one check_gateway() accepted (porticod checks it first, for its exit status).
  // With `merge_record` (shared_config), each new version of the configuration record is applied
  // live: what changed is served without a restart, a version that cannot be applied is refused
  // (logged and recorded in the membership record) and the previous one goes on.
  static Result<std::unique_ptr<Gateway>> start(const Config& config, RecordMerger merge_record = {});
  virtual ~Gateway() = default;
  // Stop accepting, finish in-flight commands, close sessions, stop the loops.
  virtual void stop() = 0;
  // After stop(): the gateway serves so many RBD images that it leaves them open for the
  // process's exit to end (RbdBlockDevice::leave_open_at_exit); the process must then end with
  // _exit once the gateway is destroyed, not run the libraries' static destructors under them.
  [[nodiscard]] virtual bool leaves_images_to_exit() const = 0;
};

}  // namespace portico::daemon
