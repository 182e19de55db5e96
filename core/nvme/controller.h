// An NVMe controller (NVMe over Fabrics, dynamic model): what one host's association with the
// subsystem through this gateway holds — its properties (CC, CSTS), features, keep alive,
// asynchronous events and reservation notices — and the execution of the admin and I/O commands
// it receives on its queues. Commands on a namespace run on the namespace's unit of the shared
// core: its task set (aborts, PREEMPT AND ABORT, resets), its reservations and access states, so
// an NVMe host and a SCSI initiator on the same unit see one state on every gateway.
//
// Queues may live on different event loops: the controller's shared state is atomic or locked;
// a queue's own state (QueueContext) is its loop's alone.
//
// Files: controller.cc (lifecycle, properties, dispatch, asynchronous events, abort),
// admin_commands.cc (Identify, Get Log Page, features), io_commands.cc, reservation_commands.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/attachment.h"
#include "core/common/unique_function.h"
#include "core/executor.h"
#include "core/io_failure.h"
#include "core/nvme/async_event.h"
#include "core/nvme/discovery_log.h"
#include "core/nvme/fabrics.h"
#include "core/nvme/host.h"
#include "core/nvme/log_pages.h"
#include "core/nvme/nvme_command.h"
#include "core/reservations/conflict_table.h"
#include "core/reservations/reservation_engine.h"

namespace portico::nvme {

class Subsystem;

// NVMe over Fabrics has no doorbells: CC and CSTS are properties (NVMe Base 2.0, "Controller
// Registers"), read and written with Property Get / Set.
inline constexpr uint32_t kPropertyCap = 0x00;
inline constexpr uint32_t kPropertyVersion = 0x08;
inline constexpr uint32_t kPropertyCc = 0x14;
inline constexpr uint32_t kPropertyCsts = 0x1c;

inline constexpr uint32_t kCcEnable = 1u << 0;
inline constexpr uint32_t kCcShutdownMask = 3u << 14;
inline constexpr uint32_t kCstsReady = 1u << 0;
inline constexpr uint32_t kCstsFatal = 1u << 1;
inline constexpr uint32_t kCstsShutdownOccurring = 1u << 2;
inline constexpr uint32_t kCstsShutdownComplete = 2u << 2;

// The version this target reports in VS and Identify Controller: NVMe 1.4. (A 2.0 controller
// must answer the I/O command set independent Identify Namespace, which Linux asks for from 2.0.)
inline constexpr uint32_t kReportedVersion = 0x00010400;

// A submission queue's state, kept by the front-end that serves the queue.
struct QueueContext {
  uint16_t id = 0;                     // 0: the admin queue
  uint16_t size = 0;                   // entries
  NvmeCommand* fused_first = nullptr;  // a fused Compare waiting for its Write
};

class Controller : public std::enable_shared_from_this<Controller> {
 public:
  Controller(Subsystem& subsystem, uint16_t id, const ConnectData& connect, uint32_t keep_alive_ms,
             FabricsTransport transport = FabricsTransport::tcp);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Attaches the controller to every namespace's unit (after construction: needs shared_from_this).
  void attach_namespaces();
  // A namespace the configuration added or removed while the controller lives: the host is told
  // (Namespace Attribute Changed, the namespace in the Changed Namespace List).
  void attach_namespace(uint32_t nsid, const std::shared_ptr<Unit>& unit);
  void namespace_removed(uint32_t nsid);

  [[nodiscard]] uint16_t id() const { return id_; }
  [[nodiscard]] const HostId& host_id() const { return host_id_; }
  [[nodiscard]] const std::string& host_nqn() const { return host_nqn_; }
  [[nodiscard]] FabricsTransport transport() const { return transport_; }
  [[nodiscard]] const Initiator& initiator() const { return initiator_; }
  [[nodiscard]] Subsystem& subsystem() const { return subsystem_; }
  // CC.EN = 1 and CSTS.RDY = 1: I/O queues may connect and run commands.
  [[nodiscard]] bool ready() const { return (csts_.load(std::memory_order_acquire) & kCstsReady) != 0; }
  // The I/O queue ids the host may connect: 1 .. granted count (Set Features, Number of Queues).
  [[nodiscard]] uint16_t io_queue_limit() const { return io_queues_granted_.load(std::memory_order_acquire); }

  // --- keep alive (NVMe Base 2.0, "Keep Alive Timer") ---
  // Every command restarts the timer (a host that sends I/O is alive, as nvmet's traffic based
  // keep alive); KATO 0 disables it.
  void touch(int64_t now_ns) { last_activity_ns_.store(now_ns, std::memory_order_relaxed); }
  [[nodiscard]] uint32_t keep_alive_ms() const { return keep_alive_ms_.load(std::memory_order_acquire); }
  [[nodiscard]] bool keep_alive_expired(int64_t now_ns) const;

  // Runs one command from `queue` on `executor` (the queue's loop); `done` runs there once the
  // command's status, result and data are set. For a fused pair, the first command's `done`
  // runs when the pair ends.
  void execute(QueueContext& queue, NvmeCommand& command, Executor& executor, UniqueFunction<void()> done);
  // The queue is going away: a fused Compare still waiting ends (Missing Fused Command), and on
  // the admin queue the outstanding Asynchronous Event Requests end (Aborted, SQ Deletion).
  // Their `done` runs before this returns; call it on the queue's executor.
  void release_queue(QueueContext& queue);

  // A notice for the host about namespace `nsid` (core/attachment.h); any thread.
  void on_notice(uint32_t nsid, Notice notice);

  // A discovery controller whose host enabled Discovery Log Page Change notices (Set Features
  // 0Bh bit 31) raises one when its host's Discovery log now differs from the one it read last
  // (a gateway came, left or lost its lease), so hosts that keep a persistent discovery
  // connection connect to new paths without polling. The front-end calls it periodically on the
  // admin queue; an I/O controller ignores it.
  void check_discovery_log();

  // The admin queue is gone (closed, or its keep alive expired): the controller is, and its
  // I/O queues close too (NVMe over Fabrics 1.1: an association ends with its admin queue).
  void retire() { retired_.store(true, std::memory_order_release); }
  [[nodiscard]] bool retired() const { return retired_.load(std::memory_order_acquire); }

 private:
  void execute_admin(QueueContext& queue, NvmeCommand& command);
  void execute_io(QueueContext& queue, NvmeCommand& command);
  void execute_fabrics(QueueContext& queue, NvmeCommand& command);
  void property_get(NvmeCommand& command, const PropertyGetCommand& get);
  void property_set(NvmeCommand& command, const PropertySetCommand& set);
  void abort_command(NvmeCommand& command);
  void async_event_request(NvmeCommand& command);
  // admin_commands.cc
  void identify(NvmeCommand& command);
  void get_log_page(NvmeCommand& command);
  void set_features(NvmeCommand& command);
  void get_features(NvmeCommand& command);
  std::vector<uint8_t> ana_log_page(bool groups_only);
  [[nodiscard]] std::vector<DiscoveryEntry> discovery_entries() const;
  // io_commands.cc
  void start_io(QueueContext& queue, NvmeCommand& command, Unit& unit);
  void run_io(NvmeCommand& command, Unit& unit);
  void run_fused(NvmeCommand& compare, NvmeCommand& write, Unit& unit);
  void end_fused_missing(NvmeCommand& first);
  // Answers a command that is not in a unit's task set.
  void finish(NvmeCommand& command, CompletionStatus status);
  // Ends an I/O command admitted to its unit's task set: unlinked, aborted if an abort reached
  // it, then `done`.
  void finish_io(NvmeCommand& command, CompletionStatus status);
  void fail_io(NvmeCommand& command, int error, bool write);
  // reservation_commands.cc
  void reservation_register(NvmeCommand& command, Unit& unit);
  void reservation_acquire(NvmeCommand& command, Unit& unit);
  void reservation_release(NvmeCommand& command, Unit& unit);
  void reservation_report(NvmeCommand& command, Unit& unit);
  // Applies `request` from this controller's host to the unit's record (PTPL unchanged).
  void run_request(NvmeCommand& command, Unit& unit, const ReservationRequest& request);
  // The medium access a command makes, for the reservation rules.
  [[nodiscard]] bool reservation_conflict(NvmeCommand& command, Unit& unit, MediumAccess access);
  // The path status a command gets because this gateway cannot serve the unit now, if any.
  [[nodiscard]] std::optional<CompletionStatus> access_refusal(Unit& unit) const;
  // Queues `event` for the host; completes an outstanding Asynchronous Event Request if any.
  void raise_async_event(const AsyncEvent& event, uint32_t enable_bit);
  void deliver_async_events();  // async_mutex_ held by the caller's lock, released inside

  Subsystem& subsystem_;
  const uint16_t id_;
  HostId host_id_;
  std::string host_nqn_;
  FabricsTransport transport_;
  Initiator initiator_;
  std::string key_;  // initiator_.key(): its address names this controller's tasks
  std::mutex attachments_mutex_;  // a namespace added live attaches from the configuration thread
  std::vector<std::shared_ptr<Attachment>> attachments_;

  // Properties: written by the admin queue only, read by every queue.
  std::atomic<uint32_t> cc_{0};
  std::atomic<uint32_t> csts_{0};
  std::atomic<uint32_t> keep_alive_ms_{0};
  std::atomic<int64_t> last_activity_ns_{0};
  std::atomic<uint16_t> io_queues_granted_{0};
  std::atomic<bool> retired_{false};

  // Asynchronous events and the logs they point at.
  std::mutex async_mutex_;
  struct PendingRequest {
    NvmeCommand* command;
    Executor* executor;
  };
  std::deque<PendingRequest> async_requests_;
  std::deque<AsyncEvent> async_events_;
  std::set<uint8_t> masked_log_pages_;  // an event was sent for it: no other until it is read
  uint32_t async_event_config_ = 0;     // Set Features 0Bh
  std::deque<ReservationNotice> reservation_notices_;
  uint64_t reservation_log_count_ = 0;
  std::map<uint32_t, uint32_t> reservation_masks_;  // per NSID, Set Features 82h
  std::vector<uint32_t> changed_nsids_;
  bool changed_nsids_overflowed_ = false;
  // GENCTR of the Discovery log this host read last, or the first one checked (0: none yet).
  uint64_t discovery_generation_seen_ = 0;

  IoErrorLog io_error_log_;
};

}  // namespace portico::nvme
