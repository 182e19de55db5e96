// The iSCSI front-end: listens on the gateway's portals, runs login, discovery and full-feature
// sessions on the runtime's io_uring loops, and hands every SCSI command and task management
// function to the core's ScsiTarget.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/scsi/scsi_target.h"

namespace portico::runtime {
class LoopGroup;
}

namespace portico::iscsi {

struct ChapCredentials {
  std::string username;
  std::string secret;
  std::string mutual_username;  // empty: no mutual CHAP
  std::string mutual_secret;
};

struct IscsiTargetSettings {
  std::string iqn;
  std::string alias;
  bool any_initiator = true;
  std::vector<std::string> allowed_initiators;
  std::optional<ChapCredentials> chap;  // for initiators without credentials of their own
  // Per-initiator CHAP (RFC 7143 §12.1.3): the secret proves the initiator name, so no host can
  // log in as another one (and end its session, or use its reservations).
  std::map<std::string, ChapCredentials, std::less<>> initiator_chap;
  std::shared_ptr<scsi::ScsiTarget> scsi_target;
};

// The portals of another gateway that exports the same targets, under its portal group tag.
struct PeerPortalGroup {
  uint16_t tag = 0;
  std::vector<std::string> portals;  // "127.0.0.2:3260", "[::1]:3260"
};

struct IscsiServerSettings {
  std::vector<std::string> portals;      // "127.0.0.1:3260", "[::1]:3260"
  uint16_t target_portal_group_tag = 1;  // RFC 7143 §13.9
  uint16_t target_port_group_id = 1;     // ALUA group of this gateway's ports (SPC-4 7.7.3.8)
  std::chrono::seconds nop_in_interval{15};  // 0: no target-initiated pings
  std::chrono::seconds nop_in_timeout{30};
  unsigned max_sessions = 256;
  unsigned max_queued_commands = 128;  // per session: the CmdSN window
  // Buffers that peers make us allocate (data-out, data-in, the core's scratch): per session,
  // and for the whole gateway. Beyond them commands wait and the CmdSN window stops growing.
  uint64_t max_session_buffer_bytes = 64u << 20;
  uint64_t max_buffer_bytes = 1u << 30;
  // Peers that have not logged in yet: the login must be complete within login_timeout, and
  // connections are capped per portal and per initiator address (accepted, then closed at
  // once beyond a cap), discovery sessions in total.
  std::chrono::seconds login_timeout{15};
  unsigned max_connections_per_portal = 1024;
  unsigned max_connections_per_address = 64;
  unsigned max_discovery_sessions = 64;
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  std::optional<ChapCredentials> discovery_chap;
  std::vector<IscsiTargetSettings> targets;
  // The other live gateways of the cluster (membership): SendTargets lists their portals after
  // this gateway's, so a host that discovers through one gateway finds every path. Called for
  // each SendTargets request, from a loop thread; unset without a cluster.
  std::function<std::vector<PeerPortalGroup>()> peer_portals;
};

class IscsiServer {
 public:
  static Result<std::unique_ptr<IscsiServer>> create(IscsiServerSettings settings, runtime::LoopGroup& loops);
  virtual ~IscsiServer() = default;

  // Binds every portal and starts accepting. Fails (naming the portal) if one cannot be bound.
  virtual Status start() = 0;
  // A new configuration version: logins and SendTargets from now on see `targets`. Sessions
  // of a target that is gone, or of an initiator that its new ACL no longer admits, are closed;
  // every other session goes on undisturbed (a target keeps its ScsiTarget, whose LUNs change
  // on their own). Any thread.
  virtual void set_targets(std::vector<IscsiTargetSettings> targets) = 0;
  // The normal sessions now: target, initiator, ISID (12 hex digits) and TSIH.
  struct SessionSummary {
    std::string target;
    std::string initiator;
    std::string isid;
    uint16_t tsih = 0;
  };
  [[nodiscard]] virtual std::vector<SessionSummary> sessions() const = 0;
  // Open connections (discovery ones included) and sessions (normal ones), for the metrics.
  [[nodiscard]] virtual size_t connection_count() const = 0;
  [[nodiscard]] virtual size_t session_count() const = 0;

  // Stops accepting, lets commands already in the core finish (up to `grace`), sends nothing
  // new, closes every connection. Blocks until done. Call from a thread that is not a loop.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace portico::iscsi
