// One iSCSI connection, and (MaxConnections is 1) the session it carries. Lives on one event loop
// for its whole life; nothing here is touched from another thread.
//
// Life cycle: start() → login phase → full feature phase (normal or discovery session) →
// logout or error → close(): the socket is shut down, pending loop operations and core tasks
// finish, then the owner's `on_closed` destroys the object.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/scsi/scsi_target.h"
#include "core/scsi/sense.h"
#include "frontends/common/tcp_acceptor.h"
#include "frontends/iscsi/protocol/login_state.h"
#include "frontends/iscsi/protocol/negotiation.h"
#include "frontends/iscsi/protocol/pdu.h"
#include "frontends/iscsi/server/iscsi_task.h"
#include "frontends/common/rx_buffer.h"
#include "frontends/iscsi/server/server_context.h"
#include "frontends/iscsi/server/session_registry.h"
#include "frontends/iscsi/server/tx_queue.h"
#include "runtime/event_loop.h"

namespace portico::iscsi {

// The login policy of this server: targets by name with their ACL and CHAP settings, discovery
// CHAP, live sessions by TSIH, and the limits we offer (login_flow.cc).
LoginPolicy make_login_policy(const ServerContext& context);

class Connection : public frontend::ServedConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerContext& context, runtime::EventLoop& loop, int fd, uint64_t id, std::string local_address,
             std::string peer_address);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // `on_closed` runs on the loop once the connection is fully quiesced; it must drop the owner's
  // reference (which destroys the connection).
  void start(UniqueFunction<void(uint64_t)> on_closed) override;
  // Ends the connection (and its session): no more PDUs are read or sent.
  void close(const std::string& reason) override;
  // Server shutdown: stop taking commands, let the core finish those it has, then close.
  void drain() override;

  [[nodiscard]] uint64_t id() const { return id_; }

 private:
  enum class Phase { login, full_feature, logging_out, closing };

  // --- receive path (connection.cc) ---
  void post_recv();
  void on_recv(int result);
  void process_rx();
  // Runs `step` so that a close inside it cannot finish underneath it; false (the close then
  // finished or waits for what is pending) when the connection is closing afterwards.
  bool run_held(void (Connection::*step)());
  // Handles one complete PDU; returns false when the connection must stop reading.
  bool dispatch(const Bhs& bhs, std::span<const uint8_t> ahs, std::span<const uint8_t> data);

  // --- send path (connection.cc) ---
  void queue_pdu(OutPdu pdu);
  // Finishes a PDU whose 48 header bytes are filled: lengths, StatSN fields, digests.
  OutPdu make_pdu(std::span<const uint8_t, 48> header, std::span<const uint8_t> data);
  void flush_tx();
  void on_sent(int result);
  void maybe_finish_close();

  // --- login and text (login_flow.cc) ---
  bool on_login_request(const Bhs& bhs, std::span<const uint8_t> data);
  bool finish_login();
  bool on_text_request(const Bhs& bhs, std::span<const uint8_t> data);
  std::string send_targets_response(std::string_view which) const;
  bool on_logout_request(const Bhs& bhs);
  // Fills StatSN/ExpCmdSN/MaxCmdSN of a Login Response and queues it.
  void send_login_response(LoginStep& step, const LoginRequestFields& request);
  bool register_session(LoginStep& step, const LoginRequestFields& request);
  void send_text_chunk(uint32_t itt);
  [[nodiscard]] uint16_t local_portal_group_tag() const;

  // --- commands (command_flow.cc) ---
  bool on_scsi_command(const Bhs& bhs, std::span<const uint8_t> ahs, std::span<const uint8_t> data);
  enum class PayloadDigest { ok, failed };
  bool on_data_out(const Bhs& bhs, std::span<const uint8_t> data, PayloadDigest digest = PayloadDigest::ok);
  void send_r2ts(IscsiTask& task);
  void submit_to_core(IscsiTask& task);
  // All data-out is in: the core gets the command, or it ends here (digest error).
  void finish_data_out(IscsiTask& task);
  // Takes the command's buffer budget (and allocates its data-out buffer); false if there is
  // no room now.
  bool reserve_buffers(IscsiTask& task);
  // A command waits for budget (its R2Ts or its execution); resumed in arrival order.
  void park(IscsiTask& task);
  void resume_parked();
  void schedule_parked_retry();
  void on_core_done(IscsiTask* task);
  void send_scsi_result(IscsiTask& task);
  // Ends a task the core never saw with CHECK CONDITION (fixed-format sense), or with a status
  // of its own (TASK SET FULL).
  void fail_before_core(IscsiTask& task, const scsi::SenseData& sense);
  void fail_before_core(IscsiTask& task, scsi::ScsiStatus status, std::vector<uint8_t> sense = {});
  void release_task(uint32_t itt);
  // Removes a task the core does not hold (never submitted, or its `done` has run).
  using TaskMap = std::unordered_map<uint32_t, std::unique_ptr<IscsiTask>>;
  TaskMap::iterator erase_task(TaskMap::iterator it);

  // --- CmdSN window, NOP, TMF, reject (session_flow.cc) ---
  enum class CmdSnCheck { accept, drop };
  CmdSnCheck check_cmd_sn(const Bhs& bhs);
  void advance_window();
  uint32_t max_cmd_sn();
  bool on_nop_out(const Bhs& bhs, std::span<const uint8_t> data);
  bool on_task_management(const Bhs& bhs);
  void send_tmf_response(uint32_t itt, uint8_t response);
  void send_reject(uint8_t reason, std::span<const uint8_t, 48> offending_header);
  void schedule_nop_in();
  void on_nop_timer();

  ServerContext& context_;
  runtime::EventLoop& loop_;
  int fd_;
  uint64_t id_;
  std::string local_address_;
  std::string peer_address_;
  UniqueFunction<void(uint64_t)> on_closed_;

  Phase phase_ = Phase::login;
  bool recv_pending_ = false;
  bool rx_paused_ = false;  // received PDUs wait until the send queue drains
  unsigned holds_ = 0;      // run_held() frames on the stack
  bool send_pending_ = false;
  bool closed_notified_ = false;
  bool draining_ = false;
  std::string close_reason_;

  // Declared before everything that holds a charge (tasks, queued PDUs): destroyed after them.
  runtime::BufferAccount buffers_;
  frontend::RxBuffer rx_;
  TxQueue tx_;
  msghdr tx_msg_{};

  // Login.
  std::unique_ptr<LoginState> login_;
  bool logged_in_ = false;                         // reached the full feature phase
  bool counts_as_discovery_ = false;               // holds one of the discovery session slots
  runtime::EventLoop::TimerId login_timer_ = 0;    // the login timeout
  runtime::EventLoop::TimerId login_reply_timer_ = 0;  // a failed authentication's delayed answer
  std::vector<uint8_t> login_pdu_data_;  // login data spanning several PDUs (C bit)
  bool login_responded_ = false;         // StatSN starts at the first Login Response

  // Session (RFC 7143 §4.2.2: MaxConnections is 1, so the session lives with the connection).
  SessionParams params_;
  bool discovery_ = false;
  std::shared_ptr<const IscsiTargetSettings> target_;  // the version the session logged in to
  SessionKey session_key_;
  bool registered_ = false;
  uint16_t tsih_ = 0;
  uint16_t cid_ = 0;
  std::shared_ptr<scsi::NexusState> nexus_;
  bool header_digest_ = false;
  bool data_digest_ = false;

  // Sequence numbers (RFC 7143 §4.2.2.1, §4.2.2.2).
  uint32_t exp_cmd_sn_ = 0;
  uint32_t stat_sn_ = 0;
  uint32_t advertised_max_cmd_sn_ = 0;  // never moves backwards (§4.2.2.1)

  // Tasks by ITT. A task stays here until its final response is queued.
  TaskMap tasks_;
  unsigned tasks_in_core_ = 0;
  unsigned immediate_tasks_ = 0;   // immediate SCSI commands among tasks_ (bounded, §4.2.2.1)
  unsigned tmfs_in_flight_ = 0;    // task management functions the core is running
  std::deque<uint32_t> parked_;    // ITTs waiting for buffer budget, oldest first
  bool resuming_parked_ = false;
  runtime::EventLoop::TimerId parked_timer_ = 0;
  uint32_t next_ttt_ = 1;

  // Text request continuation (RFC 7143 §11.10.4).
  std::string text_pending_response_;
  uint32_t text_ttt_ = 0xffffffff;
  std::vector<uint8_t> text_request_accumulated_;

  // Target-initiated NOP-In (RFC 7143 §11.19).
  runtime::EventLoop::TimerId nop_timer_ = 0;
  uint32_t nop_ttt_outstanding_ = 0xffffffff;
  bool activity_since_nop_ = false;
  std::chrono::steady_clock::time_point nop_sent_at_{};
};

}  // namespace portico::iscsi
