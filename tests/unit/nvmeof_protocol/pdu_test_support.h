// Hand-built NVMe/TCP bytes for the tests, written without the encoders so that a shared mistake
// in encoder and decoder cannot hide: offsets as in include/linux/nvme-tcp.h.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "core/common/little_endian.h"
#include "frontends/nvmeof/protocol/tcp_pdu.h"

namespace portico::nvmeof::test {

using Bytes = std::vector<uint8_t>;

// A PDU of `size` bytes (at least 8) whose common header says type/flags/hlen/pdo/plen.
inline Bytes raw_pdu(PduType type, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen, size_t size = 0) {
  Bytes b(size < kCommonHeaderSize ? kCommonHeaderSize : size, 0);
  b[0] = static_cast<uint8_t>(type);
  b[1] = flags;
  b[2] = hlen;
  b[3] = pdo;
  store_le32(&b[4], plen);
  return b;
}

inline std::span<const uint8_t, kCommonHeaderSize> ch_of(const Bytes& b) {
  return std::span<const uint8_t>(b).first<kCommonHeaderSize>();
}

// A controller that negotiated the given digests, MAXH2CDATA 8192 and 4096 bytes in-capsule.
inline ConnectionParams controller(bool header_digest = false, bool data_digest = false) {
  ConnectionParams p;
  p.receive = Direction::host_to_controller;
  p.header_digest = header_digest;
  p.data_digest = data_digest;
  p.max_h2c_data = 8192;
  p.max_in_capsule_data = 4096;
  return p;
}

// The host side of the same connection: decodes C2H PDUs.
inline ConnectionParams host(bool header_digest = false, bool data_digest = false) {
  ConnectionParams p = controller(header_digest, data_digest);
  p.receive = Direction::controller_to_host;
  return p;
}

// One of 16 negotiations for loops over "every negotiation", as seen by the controller (flip
// `receive` for the host): bit 0 header digests, bit 1 data digests, bit 2 CPDA 31 (128 bytes)
// rather than 1 (8), bit 3 HPDA 3 (16 bytes) rather than 0.
inline ConnectionParams negotiation(int variant) {
  ConnectionParams p = controller((variant & 1) != 0, (variant & 2) != 0);
  p.cpda = (variant & 4) != 0 ? 31 : 1;
  p.hpda = (variant & 8) != 0 ? 3 : 0;
  return p;
}
inline constexpr int kNegotiations = 16;

inline ConnectionParams host_side(ConnectionParams p) {
  p.receive = Direction::controller_to_host;
  return p;
}

// Expects `r` to be a failure with this FES and FEI.
template <typename Result>
void expect_error(const Result& r, FatalErrorStatus fes, uint32_t fei) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().fes, fes) << r.error().message;
  EXPECT_EQ(r.error().fei, fei) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

inline void expect_invalid_field(const PduResult<PduLayout>& r, uint32_t fei) {
  expect_error(r, FatalErrorStatus::invalid_pdu_header_field, fei);
}

}  // namespace portico::nvmeof::test
