// Where the fields of the region target_core_user shares through /dev/uioN are
// (include/uapi/linux/target_core_user.h), as byte offsets, and how to copy them in and out.
//
// The kernel's structures are packed and live in memory the kernel writes concurrently, so they
// are never overlaid on the bytes: each field is copied out with memcpy and checked before use.
// The fields are in the CPU's byte order (the kernel writes them with plain stores on the same
// machine). tests/unit/fc_tcmu/ring_layout_test.cc checks every number here against the kernel's
// header (through a C file: the header's inline functions are not valid C++).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace portico::tcmu::layout {

// struct tcmu_mailbox. cmd_tail is the only field userspace writes; the kernel puts it on its own
// cache line (__aligned__(ALIGN_SIZE), ALIGN_SIZE 64).
inline constexpr size_t kMailboxVersion = 0;   // __u16
inline constexpr size_t kMailboxFlags = 2;     // __u16
inline constexpr size_t kMailboxCmdrOff = 4;   // __u32: ring offset from the region's start
inline constexpr size_t kMailboxCmdrSize = 8;  // __u32: ring bytes
inline constexpr size_t kMailboxCmdHead = 12;  // __u32: written by the kernel
inline constexpr size_t kMailboxCmdTail = 64;  // __u32: written by userspace
inline constexpr size_t kMailboxSize = 128;    // sizeof(struct tcmu_mailbox)

inline constexpr uint16_t kMailboxVersionSupported = 2;  // TCMU_MAILBOX_VERSION
inline constexpr uint16_t kCapOutOfOrderCompletion = 1u << 0;  // TCMU_MAILBOX_FLAG_CAP_OOOC
inline constexpr uint16_t kCapReadLen = 1u << 1;               // TCMU_MAILBOX_FLAG_CAP_READ_LEN
inline constexpr uint16_t kCapTmr = 1u << 2;                   // TCMU_MAILBOX_FLAG_CAP_TMR

// Entries are 8-byte aligned (TCMU_OP_ALIGN_SIZE), which frees the low 3 bits of the length for
// the opcode (TCMU_OP_MASK).
inline constexpr uint32_t kEntryAlign = 8;
inline constexpr uint32_t kOpMask = 0x7;
enum class EntryOp : uint32_t { pad = 0, cmd = 1, tmr = 2 };  // enum tcmu_opcode

// struct tcmu_cmd_entry_hdr, at the start of every entry.
inline constexpr size_t kHdrLenOp = 0;   // __u32
inline constexpr size_t kHdrCmdId = 4;   // __u16
inline constexpr size_t kHdrKflags = 6;  // __u8
inline constexpr size_t kHdrUflags = 7;  // __u8
inline constexpr size_t kHdrSize = 8;
inline constexpr uint8_t kUflagReadLen = 0x2;  // TCMU_UFLAG_READ_LEN

// struct tcmu_cmd_entry: req (what the kernel wrote) and rsp (what userspace writes back) are a
// union over the same bytes. req's inner struct is not packed, so cdb_off sits at 8-byte
// alignment within it and iov[] starts at 48.
inline constexpr size_t kReqIovCnt = 8;       // __u32
inline constexpr size_t kReqIovBidiCnt = 12;  // __u32
inline constexpr size_t kReqIovDifCnt = 16;   // __u32, always 0 (the kernel never fills DIF iovecs)
inline constexpr size_t kReqCdbOff = 24;      // __u64: offset from the region's start
inline constexpr size_t kReqIov = 48;         // struct iovec[]
inline constexpr size_t kIovecSize = 16;      // { iov_base: offset from the region's start, iov_len }
inline constexpr size_t kIovecBase = 0;
inline constexpr size_t kIovecLen = 8;
inline constexpr size_t kRspScsiStatus = 8;   // __u8
inline constexpr size_t kRspReadLen = 12;     // __u32
inline constexpr size_t kRspSense = 16;       // char[TCMU_SENSE_BUFFERSIZE]
inline constexpr size_t kSenseBufferSize = 96;
// sizeof(struct tcmu_cmd_entry): the kernel never makes a command entry smaller
// (tcmu_cmd_get_base_cmd_size), so the response always fits in the entry it answers.
inline constexpr size_t kCmdEntrySize = 112;

// struct tcmu_tmr_entry.
inline constexpr size_t kTmrType = 8;     // __u8
inline constexpr size_t kTmrCmdCnt = 12;  // __u32
inline constexpr size_t kTmrCmdIds = 32;  // __u16[]
inline constexpr size_t kTmrEntrySize = 32;

template <typename T>
T load(std::span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void store(std::span<uint8_t> bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace portico::tcmu::layout
