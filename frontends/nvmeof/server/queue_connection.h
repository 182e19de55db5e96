// One NVMe/TCP connection, which carries one NVMe queue (the admin queue or an I/O queue of a
// controller). Lives on one event loop for its whole life; nothing here is touched from another
// thread.
//
// Life cycle: start() → ICReq / ICResp → Connect (creates or joins a controller) → commands →
// Disconnect, a fatal transport error (C2HTermReq), the host's close, keep alive expiry or the
// end of its controller → close(): the socket is shut down, commands in the core finish, then
// the owner's `on_closed` destroys the object.
//
// Files: queue_connection.cc (life cycle, receive framing, send path), command_flow.cc
// (capsules, Connect, R2T / H2CData, completions).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io_buffer.h"
#include "core/nvme/controller.h"
#include "frontends/common/rx_buffer.h"
#include "frontends/common/tcp_acceptor.h"
#include "frontends/nvmeof/protocol/queue_setup.h"
#include "frontends/nvmeof/server/queue_connect.h"
#include "frontends/nvmeof/server/server_context.h"
#include "frontends/nvmeof/server/tx_batch.h"
#include "runtime/buffer_budget.h"
#include "runtime/event_loop.h"

namespace portico::nvmeof {

class QueueConnection : public frontend::ServedConnection, public std::enable_shared_from_this<QueueConnection> {
 public:
  QueueConnection(ServerContext& context, runtime::EventLoop& loop, int fd, uint64_t id, std::string local_address,
                  std::string peer_address);
  ~QueueConnection() override;
  QueueConnection(const QueueConnection&) = delete;
  QueueConnection& operator=(const QueueConnection&) = delete;

  void start(UniqueFunction<void(uint64_t)> on_closed) override;
  void close(const std::string& reason) override;
  void drain() override;

 private:
  enum class Phase { awaiting_ic_req, awaiting_connect, connected, closing };

  // A command from its capsule to its response.
  struct QueueCommand {
    nvme::NvmeCommand command;
    IoBuffer data_out;           // the host's data, from the capsule or H2CData PDUs
    uint32_t data_expected = 0;  // bytes of data the command carries
    uint32_t data_received = 0;
    bool digest_failed = false;  // an H2CData PDU's data digest did not match
    bool in_core = false;
    runtime::BufferCharge charge;  // data_out plus what the command may return
  };

  // --- life cycle and transport (queue_connection.cc) ---
  void post_recv();
  void on_recv(int result);
  // Decodes and dispatches the complete PDUs in the receive buffer; stops at one that must
  // wait (no buffer budget) or when the connection closes.
  void process_rx();
  bool dispatch(const DecodedPdu& pdu, std::span<const uint8_t> raw);
  // A fatal transport error: C2HTermReq with its FES / FEI and the offending header, then close.
  void terminate(const PduError& error, std::span<const uint8_t> offending_header);
  void flush_tx();
  void on_sent(int result);
  void maybe_finish_close();
  void schedule_liveness_check();
  void check_liveness();
  [[nodiscard]] std::string who() const;

  // --- commands (command_flow.cc) ---
  enum class Dispatch { done, wait, stop };  // wait: the PDU stays buffered until budget returns
  Dispatch on_capsule(const CapsuleCmd& capsule, std::span<const uint8_t> data);
  bool on_connect(const nvme::SubmissionEntry& sqe, std::span<const uint8_t> data);
  bool on_h2c_data(const DecodedPdu& pdu, std::span<const uint8_t> raw_header);
  void submit(QueueCommand& queued);
  void on_core_done(uint16_t cid);
  // Ends a command the core never saw.
  void respond_now(const nvme::SubmissionEntry& sqe, nvme::CompletionStatus status, uint32_t dw0 = 0);
  void send_response(nvme::NvmeCommand& command);
  void queue_cqe(uint16_t cid, nvme::CompletionStatus status, uint32_t dw0, uint32_t dw1);

  ServerContext& context_;
  runtime::EventLoop& loop_;
  int fd_;
  uint64_t id_;
  std::string local_address_;
  std::string peer_address_;
  UniqueFunction<void(uint64_t)> on_closed_;
  Phase phase_ = Phase::awaiting_ic_req;
  std::string close_reason_;
  bool recv_pending_ = false;
  bool send_pending_ = false;
  bool closed_notified_ = false;
  bool draining_ = false;
  bool close_after_send_ = false;  // a C2HTermReq or the Disconnect answer is the last thing sent
  bool rx_waiting_for_budget_ = false;
  runtime::EventLoop::TimerId setup_timer_ = 0;
  runtime::EventLoop::TimerId liveness_timer_ = 0;
  runtime::EventLoop::TimerId budget_timer_ = 0;

  // Declared before everything that holds a charge: destroyed after them.
  runtime::BufferAccount buffers_;
  QueueReceiver receiver_;
  frontend::RxBuffer rx_;
  TxBatch tx_next_;     // PDUs queued while a send is in flight
  TxBatch tx_sending_;  // the bytes of the send in flight
  size_t tx_sent_ = 0;
  msghdr tx_message_{};

  // The queue, once connected.
  // Without SQ flow control (link_.sq_flow_control false) data PDUs may carry SUCCESS.
  ConnectedQueue link_;
  std::unordered_map<uint16_t, std::unique_ptr<QueueCommand>> commands_;  // by CID
  unsigned in_core_ = 0;
  bool disconnecting_ = false;
};

}  // namespace portico::nvmeof
