// The 64-byte submission queue entry (NVMe Base 2.0, "Submission Queue Entry"; Linux: struct
// nvme_common_command) and the SGL descriptor in its DPTR field (NVMe Base 2.0, "Scatter Gather
// List (SGL)"; Linux: struct nvme_sgl_desc, nvme_keyed_sgl_desc). Decoding never fails once 64
// bytes arrived: which fields a command may set is the command's rule, checked by its handler.
//
//   byte 0 OPC | 1 FUSE (bits 1:0), PSDT (bits 7:6) | 2-3 CID | 4-7 NSID | 8-15 CDW2, CDW3
//   16-23 MPTR | 24-39 DPTR | 40-63 CDW10..CDW15
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace portico::nvme {

inline constexpr size_t kSqeSize = 64;
inline constexpr uint8_t kFabricsOpcode = 0x7f;
inline constexpr uint32_t kBroadcastNsid = 0xffffffff;  // "all namespaces" (Linux: NVME_NSID_ALL)

enum class FusedOperation : uint8_t { normal = 0, first = 1, second = 2, reserved = 3 };

// PSDT: PRPs, or SGLs with MPTR naming a contiguous buffer or a one-descriptor segment. NVMe over
// Fabrics carries SGLs only.
enum class DataPointerType : uint8_t { prp = 0, sgl_metadata_buffer = 1, sgl_metadata_segment = 2, reserved = 3 };

// SGL descriptor type (identifier bits 7:4; Linux: NVME_SGL_FMT_*_DESC, NVME_TRANSPORT_SGL_DATA_DESC).
enum class SglType : uint8_t {
  data_block = 0x0,
  bit_bucket = 0x1,
  segment = 0x2,
  last_segment = 0x3,
  keyed_data_block = 0x4,
  transport_data_block = 0x5,
};

// SGL descriptor sub type (identifier bits 3:0; Linux: NVME_SGL_FMT_ADDRESS, _OFFSET, _TRANSPORT_A).
inline constexpr uint8_t kSglSubtypeAddress = 0x0;
inline constexpr uint8_t kSglSubtypeOffset = 0x1;  // in-capsule data, at ICDOFF + address
inline constexpr uint8_t kSglSubtypeTransport = 0xa;

// NVMe/TCP uses two forms (NVMe/TCP 1.0, "Command Capsule"): in-capsule data is a Data Block
// descriptor with sub type Offset (01h); data sent later by H2CData / C2HData is a Transport
// Data Block descriptor with sub type Ah (5Ah). Linux's host builds exactly these two
// (drivers/nvme/host/tcp.c, nvme_tcp_set_sg_inline / nvme_tcp_set_sg_host_data).
inline constexpr uint8_t kSglInCapsule = 0x01;
inline constexpr uint8_t kSglTransportData = 0x5a;

struct SglDescriptor {
  uint8_t identifier = 0;  // type << 4 | sub type
  uint64_t address = 0;
  uint32_t length = 0;     // 24 bits in a keyed descriptor
  uint32_t key = 0;        // keyed data block only

  [[nodiscard]] SglType type() const { return static_cast<SglType>(identifier >> 4); }
  [[nodiscard]] uint8_t subtype() const { return identifier & 0x0f; }
  [[nodiscard]] bool keyed() const { return type() == SglType::keyed_data_block; }

  bool operator==(const SglDescriptor&) const = default;
};

// Decodes the 16 bytes of DPTR as an SGL descriptor (keyed or not, by its type).
SglDescriptor decode_sgl(std::span<const uint8_t, 16> bytes);

struct SubmissionEntry {
  uint8_t opcode = 0;
  FusedOperation fuse = FusedOperation::normal;
  DataPointerType psdt = DataPointerType::prp;
  uint16_t cid = 0;
  uint32_t nsid = 0;
  uint32_t cdw2 = 0;
  uint32_t cdw3 = 0;
  uint64_t mptr = 0;
  SglDescriptor sgl;                // DPTR read as an SGL descriptor
  std::array<uint32_t, 6> cdw10_15{};
  std::array<uint8_t, kSqeSize> raw{};  // as received: the Fabrics forms reinterpret bytes 4-63

  [[nodiscard]] uint32_t cdw(unsigned n) const {  // n in 10..15
    assert(n >= 10 && n <= 15);
    return cdw10_15[n - 10];
  }
  [[nodiscard]] bool is_fabrics() const { return opcode == kFabricsOpcode; }
};

// Empty unless exactly kSqeSize bytes are given.
std::optional<SubmissionEntry> decode_sqe(std::span<const uint8_t> bytes);

}  // namespace portico::nvme
