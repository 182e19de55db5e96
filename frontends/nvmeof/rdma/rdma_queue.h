// One NVMe/RDMA queue: an RDMA connection (reliable connected QP) carrying one NVMe queue (the
// admin queue or an I/O queue of a controller). Made by the listener on a connect request; lives
// on one event loop for its whole life and is touched only there (CM events are posted to it).
//
// Data path (NVMe over Fabrics 1.1, "RDMA Transport"): a receive is posted for every entry of the
// host's submission queue, each holding a command capsule (SQE and in-capsule data). Data in the
// host's memory (a keyed SGL) is read with RDMA READ into registered chunks before the command
// goes to the core, and returned with RDMA WRITE from registered chunks, followed by the
// response capsule's SEND (with Invalidate when the host asked for it). Completions come from
// one completion queue, polled when its completion channel's descriptor is readable.
//
// Life cycle: the listener creates the resources and accepts → ESTABLISHED → Connect (creates or
// joins a controller) → commands → Disconnect, the host's disconnect, a failed work request,
// keep alive expiry, the end of its controller or a device removal → close(): the QP goes to
// the error state, every posted work request flushes, commands in the core finish, then the
// resources and the CM id are destroyed and the owner's `on_closed` destroys the object.
//
// Files: rdma_queue.cc (life cycle, completions, posting), rdma_command_flow.cc (capsules,
// Connect, reads, the core, responses).
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <deque>
#include <span>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io_buffer.h"
#include "core/nvme/controller.h"
#include "frontends/common/tcp_acceptor.h"
#include "frontends/nvmeof/protocol/rdma_cm_data.h"
#include "frontends/nvmeof/rdma/rdma_data_plan.h"
#include "frontends/nvmeof/rdma/rdma_device.h"
#include "frontends/nvmeof/server/queue_connect.h"
#include "frontends/nvmeof/server/server_context.h"
#include "runtime/buffer_budget.h"
#include "runtime/event_loop.h"

namespace portico::nvmeof {

class RdmaQueue;

// What a CM id's context points to: the queue, for the listener's event dispatch. Freed by the
// queue after its CM id is destroyed (which waits for every event of the id to be acknowledged).
struct RdmaCmContext {
  std::weak_ptr<RdmaQueue> queue;
  runtime::EventLoop* loop = nullptr;
};

struct RdmaQueueSetup {
  ServerContext* context = nullptr;
  runtime::EventLoop* loop = nullptr;
  size_t loop_index = 0;
  std::shared_ptr<RdmaDevice> device;
  rdma_cm_id* cm_id = nullptr;  // owned by the queue from construction
  RdmaQueueShape shape;
  uint64_t id = 0;
  std::string local_address;
  std::string peer_address;
  uint32_t in_capsule_limit = 8192;  // data bytes a capsule may carry after its SQE
};

class RdmaQueue : public frontend::ServedConnection, public std::enable_shared_from_this<RdmaQueue> {
 public:
  explicit RdmaQueue(RdmaQueueSetup setup);
  ~RdmaQueue() override;
  RdmaQueue(const RdmaQueue&) = delete;
  RdmaQueue& operator=(const RdmaQueue&) = delete;

  // On the listener's loop, before the accept: completion channel and queue, QP, receive and
  // response buffers, every receive posted. On failure the caller rejects the request and drops
  // the queue (the CM id is the caller's again: released_cm_id()).
  Status create_resources(std::unique_ptr<RdmaCmContext> cm_context);
  rdma_cm_id* release_cm_id();

  void start(UniqueFunction<void(uint64_t)> on_closed) override;
  void drain() override;
  void close(const std::string& reason) override;
  // A CM event of this queue's id, on its loop.
  void on_cm_event(rdma_cm_event_type type, int status);

 private:
  enum class Phase { awaiting_connect, connected, closing };
  enum class Stage { reading, in_core, sending, waiting };
  enum class Blocked { none, read, respond };
  // wr_id: the kind of work request in the high half, the receive index or command slot below.
  // Only the last work request of a chain is signaled; the others complete only on an error.
  enum class WorkKind : uint32_t { receive = 1, read = 2, send = 3, unsignaled = 4 };
  static constexpr uint64_t work_id(WorkKind kind, uint32_t index) {
    return (uint64_t{static_cast<uint32_t>(kind)} << 32) | index;
  }

  struct RdmaCommand {
    nvme::NvmeCommand command;
    RdmaDataPlan plan;
    IoBuffer data_out;
    std::vector<uint32_t> chunks;   // registered chunks while reading or writing
    Stage stage = Stage::waiting;
    Blocked blocked = Blocked::none;  // waits for chunks or send queue space
    unsigned send_slots = 0;        // send queue entries its posted work requests hold
    bool connect = false;           // the queue's first capsule
    runtime::BufferCharge charge;
  };

  // --- life cycle, completions, posting (rdma_queue.cc) ---
  void arm_completions();
  void on_completion_event(int result);
  void drain_completions();
  void on_work_completion(const ibv_wc& wc);
  bool post_receive(uint32_t index);
  // Posts a chain of send queue work requests; false (and the queue closes) when the device refuses.
  bool post_send_chain(ibv_send_wr* first, unsigned count);
  void retry_blocked();
  void maybe_finish_close();
  // Shutting down: closes once nothing is in the core and every answer sent has completed.
  void close_if_drained();
  void tear_down();
  void schedule_liveness_check();
  [[nodiscard]] std::string who() const;
  [[nodiscard]] uint8_t* receive_buffer(uint32_t index) const { return receive_memory_.get() + size_t{index} * receive_bytes_; }
  [[nodiscard]] uint8_t* response_buffer(uint32_t slot) const { return response_memory_.get() + size_t{slot} * 16; }

  // --- commands (rdma_command_flow.cc) ---
  // False: no buffer budget now; the capsule waits (a copy) and is taken again later.
  bool on_capsule(std::span<const uint8_t> capsule);
  void take_waiting_capsules();
  void start_command(uint32_t slot);
  bool start_read(uint32_t slot);     // false: blocked (chunks or send queue space)
  void on_read_done(uint32_t slot);
  void on_connect(uint32_t slot);
  void submit(uint32_t slot);
  void on_core_done(uint32_t slot);
  // Answers the command in `slot` (its data with RDMA WRITE first, when it returns some).
  bool respond(uint32_t slot);        // false: blocked
  void respond_refused(uint32_t slot, nvme::CompletionStatus status, uint32_t dw0 = 0);
  void on_send_done(uint32_t slot);
  void release_slot(uint32_t slot);
  [[nodiscard]] uint32_t take_slot();

  ServerContext& context_;
  runtime::EventLoop& loop_;
  size_t loop_index_;
  std::shared_ptr<RdmaDevice> device_;
  rdma_cm_id* cm_id_;
  std::unique_ptr<RdmaCmContext> cm_context_;
  RdmaQueueShape shape_;
  uint64_t id_;
  std::string local_address_;
  std::string peer_address_;
  uint32_t in_capsule_limit_;
  UniqueFunction<void(uint64_t)> on_closed_;

  Phase phase_ = Phase::awaiting_connect;
  bool draining_ = false;
  bool disconnecting_ = false;        // the Disconnect's answer is the queue's last
  bool completion_poll_pending_ = false;
  bool drain_posted_ = false;         // a bounded drain left completions for the next turn
  bool torn_down_ = false;
  bool closed_notified_ = false;
  runtime::EventLoop::TimerId setup_timer_ = 0;
  runtime::EventLoop::TimerId liveness_timer_ = 0;
  runtime::EventLoop::TimerId flush_timer_ = 0;
  runtime::EventLoop::TimerId budget_timer_ = 0;

  // Verbs resources.
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  ibv_qp* qp_ = nullptr;
  ibv_mr* receive_mr_ = nullptr;
  ibv_mr* response_mr_ = nullptr;
  std::unique_ptr<uint8_t[]> receive_memory_;
  std::unique_ptr<uint8_t[]> response_memory_;
  uint32_t receive_bytes_ = 0;       // one receive: SQE + in-capsule data
  uint32_t max_send_wr_ = 0;
  uint32_t send_slots_free_ = 0;     // send queue entries not held by a posted work request
  unsigned receives_posted_ = 0;
  unsigned signaled_in_flight_ = 0;  // signaled send work requests whose completion is due
  bool send_with_invalidate_ = false;

  // Declared before everything that holds a charge: destroyed after them.
  runtime::BufferAccount buffers_;
  std::vector<std::unique_ptr<RdmaCommand>> slots_;  // a command per slot, or null
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint16_t, uint32_t> slot_by_cid_;  // commands not yet answered
  std::deque<uint32_t> blocked_;                        // waiting for chunks or send queue space, in order
  // Capsules that wait for buffer budget (copied out of their receive, which is posted again).
  std::deque<std::vector<uint8_t>> waiting_capsules_;

  ConnectedQueue link_;
  unsigned in_core_ = 0;
};

}  // namespace portico::nvmeof
