// One NVMe/TCP queue on the host side: a TCP connection that carried an ICReq/ICResp exchange,
// then command capsules out and data and completions back (NVMe/TCP 1.0, "Data Transfers").
//
// Up to `depth` commands may be in flight; each has a CID in [0, depth) and its completion is
// matched by CID, whatever the order the controller answers in. Host-to-controller data goes in
// the capsule when it fits the in-capsule limit, otherwise the controller asks for it with R2T
// and the queue answers with H2CData PDUs of at most MAXH2CDATA bytes. Controller-to-host data
// arrives in C2HData PDUs at their DATAO; a C2HData with SUCCESS stands for the CapsuleResp.
//
// Blocking: a call returns when its bytes are sent or its completion arrived. A queue is used by
// one thread at a time; the load generator runs one thread per queue. A C2HTermReq, a PDU that
// breaks the protocol, or a broken connection is fatal: the queue closes and every later call
// returns that first error.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"
#include "tools/nvme_tcp/command.h"
#include "tools/nvme_tcp/connection_setup.h"
#include "tools/nvme_tcp/pdu_stream.h"

namespace portico::nvme_host {

struct QueueOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4420;
  uint16_t queue_id = 0;  // 0: the admin queue; for messages, and the Connect sent on it
  uint16_t depth = 32;    // commands in flight at most
  TransportOptions transport;
  uint32_t in_capsule_limit = 8192;  // data bytes a capsule may carry (IOCCSZ * 16 - 64)
  std::chrono::milliseconds timeout{10000};  // longest wait for the controller
};

class Queue {
 public:
  // Connects and runs ICReq / ICResp.
  static Result<std::unique_ptr<Queue>> connect(const QueueOptions& options);

  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  ~Queue() = default;

  // Sends one command; its CID on success. Fails when `depth` commands are in flight.
  Result<uint16_t> submit(const Command& command);
  // The same, but the capsule waits in this queue until flush(), reap() or wait() sends it with
  // whatever else waits (one send for several commands, as Linux's host and libiscsi batch).
  Result<uint16_t> submit_later(const Command& command);
  Status flush();
  // Sends a fused pair (NVMe Base 2.0, "Fused Operations"): FUSE 01b on the first SQE, 10b on
  // the second, both capsules in one send so that nothing comes between them on this queue.
  Result<std::array<uint16_t, 2>> submit_fused(const Command& first, const Command& second);

  // The next completion of any command in flight (completions that arrived while wait() looked
  // for another CID come first, in arrival order).
  Result<Completion> reap();
  // A completion that needs no waiting (already received, or decodable from bytes already
  // buffered); empty when none is there.
  std::optional<Result<Completion>> try_reap();
  // The completion of the command with `cid`.
  Result<Completion> wait(uint16_t cid);
  Result<Completion> execute(const Command& command);

  void set_in_capsule_limit(uint32_t bytes) { in_capsule_limit_ = bytes; }
  void close();

  [[nodiscard]] uint16_t id() const { return id_; }
  [[nodiscard]] uint16_t depth() const { return static_cast<uint16_t>(slots_.size()); }
  [[nodiscard]] size_t in_flight() const { return slots_.size() - free_cids_.size(); }
  [[nodiscard]] const nvmeof::ConnectionParams& params() const { return params_; }
  [[nodiscard]] uint32_t in_capsule_limit() const { return in_capsule_limit_; }
  // The C2HTermReq that ended the connection, if one did.
  [[nodiscard]] const std::optional<nvmeof::TermReq>& termination() const { return termination_; }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  // A slot stays busy from submission until its completion is handed to the caller, so that a
  // CID is never reused while a completion for it waits in ready_.
  struct Slot {
    bool busy = false;
    bool done = false;  // completed, not yet handed out
    bool data_in_capsule = false;
    bool data_digest_error = false;
    uint64_t tag = 0;
    std::span<const uint8_t> data_out;
    std::span<uint8_t> data_in;
    uint32_t received = 0;
  };

  Queue(const QueueOptions& options, TcpSocket socket);
  Status initialize(const TransportOptions& transport);

  Status check_usable() const;
  Result<uint16_t> claim(const Command& command);
  void append_capsule(const Command& command, uint16_t cid);
  Result<Completion> receive_completion();
  // Handles one PDU; a completion when it finished a command.
  Result<std::optional<Completion>> dispatch(const nvmeof::DecodedPdu& pdu);
  Result<std::optional<Completion>> on_c2h_data(const nvmeof::DataPdu& f, const nvmeof::DecodedPdu& pdu);
  Status on_r2t(const nvmeof::R2t& r2t);
  Completion finish(uint16_t cid, const nvme::CompletionEntry& cqe);
  Completion hand_out(const Completion& completion);
  Slot* busy_slot(uint16_t cid);
  uint32_t largest_data_in() const;

  // Fatal errors: the queue closes and keeps the first one. protocol_error() first tells the
  // controller with an H2CTermReq.
  Status fail(Status status);
  Status broken(const Status& transport);  // the connection failed: fail() naming the queue
  Status protocol_error(nvmeof::FatalErrorStatus fes, uint32_t fei, const std::string& message);

  uint16_t id_ = 0;
  std::string name_;
  PduStream stream_;
  nvmeof::ConnectionParams params_;
  uint32_t in_capsule_limit_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint16_t> free_cids_;
  std::deque<Completion> ready_;
  std::vector<uint8_t> tx_;
  std::vector<uint8_t> pending_tx_;  // capsules of submit_later(), not sent yet
  Status failed_;
  std::optional<nvmeof::TermReq> termination_;
};

}  // namespace portico::nvme_host
