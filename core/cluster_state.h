// The cluster-state interface: where the state that must be identical on every gateway lives,
// and how events reach every gateway. The core never knows whether it is clustered:
// cluster/local keeps everything in this process; cluster/rados keeps it in RADOS objects and
// carries events over watch/notify.
//
// Threading: every method is thread-safe. Event handlers run on an arbitrary thread (for the
// local implementation: synchronously inside publish()); they must not block.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cluster_metrics.h"
#include "core/common/big_endian.h"
#include "core/common/result.h"
#include "core/common/unique_function.h"
#include "core/common/uuid.h"
#include "core/initiator.h"
#include "core/notice.h"

namespace portico {

// Identity of a logical unit, the same through every port of every gateway and through both
// command sets: the SCSI designators (VPD 80h, 83h) and the NVMe namespace identifiers
// (Identify Namespace, Namespace Identification Descriptors) all come from it.
struct LunIdentity {
  uint64_t naa = 0;    // NAA designator (SPC-4 7.7.3.6.1), 8 bytes
  std::string serial;  // unit serial number (VPD 80h), printable ASCII
  uint64_t extension = 0;  // 64 more bits, derived with the NAA (the NGUID's second half)

  // NVMe Base 2.0 §4.5.1 identifiers. EUI-64: the NAA designator's eight bytes, so that a host
  // sees one name for the unit whichever protocol it uses. NGUID: those bytes then `extension`.
  // UUID: the NGUID with the RFC 9562 version (8, vendor specific) and variant bits set.
  [[nodiscard]] std::array<uint8_t, 8> eui64() const {
    std::array<uint8_t, 8> out{};
    store_be64(out.data(), naa);
    return out;
  }
  [[nodiscard]] std::array<uint8_t, 16> nguid() const {
    std::array<uint8_t, 16> out{};
    store_be64(out.data(), naa);
    store_be64(out.data() + 8, extension);
    return out;
  }
  [[nodiscard]] std::array<uint8_t, 16> uuid() const { return uuid_v8(naa, extension); }
};

// SPC-4 6.37 asymmetric access states.
enum class AluaState : uint8_t {
  active_optimized = 0x0,
  active_non_optimized = 0x1,
  standby = 0x2,
  unavailable = 0x3,
  transitioning = 0xf,
};

inline const char* alua_state_name(AluaState state) {
  switch (state) {
    case AluaState::active_optimized: return "active/optimized";
    case AluaState::active_non_optimized: return "active/non-optimized";
    case AluaState::standby: return "standby";
    case AluaState::unavailable: return "unavailable";
    case AluaState::transitioning: return "transitioning";
  }
  return "unknown";
}

struct TargetPortGroupInfo {
  uint16_t id = 1;
  AluaState state = AluaState::active_optimized;
  std::vector<uint16_t> relative_port_ids;
};

// A gateway of the cluster, as its membership record says (the NVMe discovery controller and
// iSCSI SendTargets list the listeners and portals of every live one).
struct GatewayInfo {
  std::string name;
  uint16_t target_port_group = 0;
  uint16_t relative_port_id = 0;                  // its iSCSI portal group tag too
  AluaState state = AluaState::active_optimized;  // unavailable once its lease ran out
  std::vector<std::string> nvme_listeners;        // "address:port"
  std::vector<std::string> iscsi_portals;         // "address:port"
  int64_t heartbeat_ms = 0;                       // its last heartbeat, ms since the epoch (0: none)
};

// A cluster-wide event about one logical unit.
struct LunEvent {
  enum class Kind : uint8_t {
    logical_unit_reset,   // every gateway aborts the LU's tasks and raises the reset UA
    notice,               // tell `notice` to every initiator except `origin_nexus`
    capacity_changed,
    access_state_changed,  // a target port group's ALUA state changed: re-read the groups
    reservation_changed,  // cached reservation state is stale: re-read it, then apply the lists below
    clear_task_set,       // CLEAR TASK SET (SAM-5 7.5): every gateway aborts the LU's tasks
    // Delivered by a clustered implementation to this gateway's own subscribers only, never
    // published: this gateway can no longer prove that its cached state is current (watch lost,
    // RADOS session lost or blocklisted, or an event it could not decode and refused). The unit
    // stops executing commands (retryable status) until `state_current` arrives.
    state_unknown,
    // The event channel works again: re-read the reservation state, then serve again.
    state_current,
  };
  struct Addressed {
    InitiatorSelector initiator;
    Notice notice = Notice::reset_occurred;
  };

  Kind kind = Kind::notice;
  std::string origin_nexus;  // Initiator::key() of the initiator that caused it ("" = none)
  std::optional<Notice> notice;  // notice, reservation_changed: for every initiator but the origin
  std::vector<Addressed> notices;  // reservation_changed: for these initiators only
  std::vector<InitiatorSelector> abort_tasks_of;  // reservation_changed: PREEMPT AND ABORT
};

// A reservation record as stored: opaque bytes owned by the core's reservation engine, and a
// version that changes with every successful write (for compare-and-swap updates).
struct VersionedRecord {
  uint64_t version = 0;  // 0: never written
  std::string bytes;
};

class EventSubscription {
 public:
  virtual ~EventSubscription() = default;  // unsubscribes; no handler call after it returns
};

class ClusterState {
 public:
  virtual ~ClusterState() = default;

  // Identity of the logical unit named `lun_key` (stable across restarts and gateways).
  virtual Result<LunIdentity> lun_identity(const std::string& lun_key) = 0;

  // The target port groups of every gateway (REPORT TARGET PORT GROUPS), and this gateway's.
  virtual std::vector<TargetPortGroupInfo> target_port_groups() = 0;
  virtual uint16_t local_target_port_group() = 0;
  // Every gateway of the cluster; empty when this gateway is alone (its own listeners are the
  // front-end's to know).
  virtual std::vector<GatewayInfo> gateways() { return {}; }
  // What this gateway counted about the cluster (events, notifies, fencing); null when alone.
  [[nodiscard]] virtual const ClusterMetrics* metrics() const { return nullptr; }

  // Until when (std::chrono::steady_clock, in ns) this gateway can vouch that its cached state is
  // current without asking the cluster; the core refuses commands after it (retryable). A
  // clustered implementation renews it from its own checks of the event channel, so a gateway
  // that was frozen or cut off stops serving at once, before it has noticed why. Thread-safe
  // and cheap: read for every command.
  [[nodiscard]] virtual int64_t state_proven_until_ns() const { return INT64_MAX; }

  // Events: handlers run for events published by any gateway, including this one. A handler
  // calls `applied` once the event has taken effect here (e.g. the aborted tasks have ended);
  // it may do so later, from any thread.
  using EventHandler = std::function<void(const LunEvent&, UniqueFunction<void()> applied)>;
  virtual std::unique_ptr<EventSubscription> subscribe(const std::string& lun_key, EventHandler handler) = 0;
  // `done` runs (on any thread) once every gateway has applied the event, or failed. A clustered
  // implementation succeeds only when every gateway applied it or was fenced (one that did not
  // answer, or refused it); a failure means some gateway may still act on the old state, so a
  // command that waited for the event must not complete as if it held everywhere.
  virtual void publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) = 0;

  // Reservation state of a logical unit. write_reservation() succeeds only if the stored
  // version is still `expected_version`; otherwise it fails with ErrorCode::busy and the caller
  // re-reads and retries. `persist_through_power_loss` (APTPL) asks that the record survive a
  // restart of every gateway; otherwise a full restart may forget it (SPC-4 5.12.5).
  virtual void read_reservation(const std::string& lun_key, UniqueFunction<void(Result<VersionedRecord>)> done) = 0;
  virtual void write_reservation(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                                 bool persist_through_power_loss, UniqueFunction<void(Status)> done) = 0;
};

}  // namespace portico
