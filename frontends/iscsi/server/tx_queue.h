// Outgoing PDUs of one connection, sent with scatter-gather sendmsg on the connection's loop.
// Data-In payloads are not copied: a PDU references the task's data buffer, and the last PDU that
// references it owns it, so the buffer lives exactly until its bytes are on the wire.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "core/io_buffer.h"
#include "runtime/buffer_budget.h"

namespace portico::iscsi {

struct OutPdu {
  std::array<uint8_t, 52> header{};  // BHS (48) + header digest (4)
  uint8_t header_length = 48;
  std::span<const uint8_t> data;      // data segment (unpadded)
  std::array<uint8_t, 8> trailer{};   // padding to 4 bytes + data digest
  uint8_t trailer_length = 0;
  std::vector<uint8_t> owned_bytes;   // storage for small payloads (text, sense)
  IoBuffer owned_buffer;              // storage for a data-in buffer, freed once sent
  runtime::BufferCharge charge;       // the command's buffer budget, returned once sent

  // Total bytes on the wire.
  [[nodiscard]] size_t wire_size() const { return header_length + data.size() + trailer_length; }
};

class TxQueue {
 public:
  static constexpr size_t kMaxIov = 64;

  void push(OutPdu pdu) {
    queued_bytes_ += pdu.wire_size();
    pdus_.push_back(std::move(pdu));
  }
  [[nodiscard]] bool empty() const { return pdus_.empty(); }
  [[nodiscard]] size_t queued_bytes() const { return queued_bytes_; }

  // Fills msg/iov with the front of the queue; returns false if there is nothing to send.
  bool prepare(msghdr& msg);
  // Consumes `sent` bytes after a (possibly partial) sendmsg.
  void consume(size_t sent);

 private:
  std::deque<OutPdu> pdus_;
  size_t front_offset_ = 0;  // bytes of pdus_.front() already sent
  size_t queued_bytes_ = 0;
  std::array<iovec, kMaxIov> iov_{};
};

}  // namespace portico::iscsi
