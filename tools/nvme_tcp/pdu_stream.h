// PDU framing over a TcpSocket for the host side of an NVMe/TCP queue: validates each 8-byte
// common header against the negotiated parameters (which bounds what the rest may cost), then
// decodes the whole PDU with the codec the target uses (frontends/nvmeof/protocol). One recv
// takes whatever has arrived, often several PDUs: those after the first are decoded from the
// buffer without another system call (has_buffered_pdu() says whether one is waiting). A
// received PDU's data points into this stream's buffer and is valid until the next receive.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "core/common/result.h"
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"
#include "tools/nvme_tcp/tcp_socket.h"

namespace portico::nvme_host {

// What one receive gives: a PDU, a protocol error the host must answer with an H2CTermReq
// (NVMe/TCP 1.0, "Fatal error handling"), or a transport failure (closed, timed out).
using Received = std::variant<nvmeof::DecodedPdu, nvmeof::PduError, Status>;

class PduStream {
 public:
  explicit PduStream(TcpSocket socket) : socket_(std::move(socket)) {}

  // `max_data` bounds the data a PDU may carry (the largest buffer a command in flight can
  // take): the codec limits only what a controller receives, and a host must not let a
  // controller's PLEN make it allocate more than it asked for.
  Received receive(const nvmeof::ConnectionParams& params, uint32_t max_data);
  // True when a whole PDU is buffered: receive() returns it without waiting.
  [[nodiscard]] bool has_buffered_pdu(const nvmeof::ConnectionParams& params) const;
  Status send(std::span<const uint8_t> bytes) { return socket_.send_all(bytes); }

  // The start of the last PDU received (at most 128 bytes of its header): the error data of
  // an H2CTermReq that answers it.
  [[nodiscard]] std::span<const uint8_t> last_header() const;

  TcpSocket& socket() { return socket_; }

 private:
  // Receives until at least `needed` bytes are buffered.
  Status fill(size_t needed);

  static constexpr size_t kReadSize = 64 * 1024;
  TcpSocket socket_;
  std::vector<uint8_t> in_ = std::vector<uint8_t>(kReadSize);
  size_t begin_ = 0;  // unread bytes are in_[begin_, end_)
  size_t end_ = 0;
  std::vector<uint8_t> last_header_;  // the start of the last PDU, for an H2CTermReq
};

}  // namespace portico::nvme_host
