// A test initiator over libiscsi: one iSCSI session to one gateway portal, LUN 0 of the shared
// target. Synchronous commands return the SCSI status and the sense key / ASC / ASCQ so that tests
// assert them; the asynchronous part keeps many writes in flight for tests that need commands
// outstanding while another gateway acts. Not thread-safe: one thread per initiator.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct iscsi_context;

namespace portico::testing::mgw {

struct CommandSlot;

inline constexpr const char* kTargetIqn = "iqn.2026-11.io.portico:shared";
inline constexpr uint32_t kBlockSize = 512;

// SAM-5 status codes, and libiscsi's codes for a command that never got one.
namespace status {
inline constexpr int kGood = 0x00;
inline constexpr int kCheckCondition = 0x02;
inline constexpr int kReservationConflict = 0x18;
inline constexpr int kTaskAborted = 0x40;
}  // namespace status

namespace sense_key {
inline constexpr uint8_t kNotReady = 0x02;
inline constexpr uint8_t kMediumError = 0x03;
inline constexpr uint8_t kUnitAttention = 0x06;
inline constexpr uint8_t kMiscompare = 0x0e;
}  // namespace sense_key

// SPC-4 6.16.2 PERSISTENT RESERVE OUT service actions and 6.15.3.4 types.
enum class PrOut : uint8_t {
  register_key = 0x0,
  reserve = 0x1,
  release = 0x2,
  clear = 0x3,
  preempt = 0x4,
  preempt_and_abort = 0x5,
  register_and_ignore = 0x6,
};
inline constexpr uint8_t kWriteExclusive = 0x1;

struct ScsiResult {
  int status = -1;  // SCSI status byte, or libiscsi's SCSI_STATUS_ERROR / CANCELLED / TIMEOUT
  uint8_t sense_key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  // The sense-key specific field when SKSV is set (e.g. the progress indication of NOT READY,
  // SPC-4 4.5.2.4.4), else -1.
  int sense_specific = -1;
  std::vector<uint8_t> data;    // Data-In
  std::string transport_error;  // libiscsi's text when the command got no SCSI status

  [[nodiscard]] bool good() const { return status == status::kGood; }
  [[nodiscard]] bool has_sense(uint8_t key) const { return status == status::kCheckCondition && sense_key == key; }
  [[nodiscard]] bool has_sense(uint8_t key, uint8_t asc_code) const { return has_sense(key) && asc == asc_code; }
  [[nodiscard]] bool has_sense(uint8_t key, uint8_t asc_code, uint8_t qualifier) const {
    return has_sense(key, asc_code) && ascq == qualifier;
  }
  // "GOOD", "CHECK CONDITION sense 6h 2Ah/05h", "RESERVATION CONFLICT", "no status (...)".
  [[nodiscard]] std::string describe() const;
};

// One asynchronous WRITE(16), or TEST UNIT READY when `data` is empty: owns its data until the
// command completes.
struct AsyncCommand {
  uint64_t lba = 0;
  std::vector<uint8_t> data;
  bool done = false;
  ScsiResult result;
  std::chrono::steady_clock::time_point completed_at;
};

class Initiator {
 public:
  // Logs in to `portal` ("127.0.0.2:22000") as `initiator_name`, without automatic reconnection
  // (a gateway that goes away must show), then clears the unit attentions of a new nexus.
  // nullptr with `error` set on failure.
  static std::unique_ptr<Initiator> connect(const std::string& portal, const std::string& initiator_name,
                                            std::string* error, int command_timeout_s = 60);
  ~Initiator();
  Initiator(const Initiator&) = delete;
  Initiator& operator=(const Initiator&) = delete;

  [[nodiscard]] const std::string& portal() const { return portal_; }
  [[nodiscard]] const std::string& name() const { return name_; }

  ScsiResult command(std::span<const uint8_t> cdb, int xfer_dir, uint32_t expected_in,
                     std::span<const uint8_t> data_out = {});
  ScsiResult test_unit_ready();
  // SANITIZE (SBC-3 5.30) without a parameter list: BLOCK ERASE, CRYPTOGRAPHIC ERASE or EXIT
  // FAILURE MODE; `byte1` carries IMMED, AUSE and the service action.
  ScsiResult sanitize(uint8_t byte1);
  ScsiResult read(uint64_t lba, uint32_t blocks);
  ScsiResult write(uint64_t lba, std::span<const uint8_t> data);
  // COMPARE AND WRITE (SBC-3 5.2): `expected` and `replacement` are whole blocks of equal size.
  ScsiResult compare_and_write(uint64_t lba, std::span<const uint8_t> expected, std::span<const uint8_t> replacement);
  ScsiResult inquiry_vpd(uint8_t page);
  ScsiResult report_target_port_groups();
  ScsiResult persistent_reserve_in_read_keys();
  ScsiResult persistent_reserve_out(PrOut action, uint64_t key, uint64_t service_action_key, uint8_t type = 0);
  // LOGICAL UNIT RESET; true when the target answered FUNCTION COMPLETE.
  bool lun_reset(std::string* error);
  // TEST UNIT READY until GOOD (at most `limit` times); returns the unit attentions it consumed.
  std::vector<ScsiResult> clear_unit_attentions(int limit = 16);

  // Asynchronous commands: `command` must stay alive and in place until it is done. Commands of a
  // session reach the SCSI layer in CmdSN order (RFC 7143 3.2.2.1): once a TEST UNIT READY
  // submitted last has completed, the target holds every command submitted before it.
  bool submit(AsyncCommand* command);
  // Services the connection once (waits up to `timeout_ms` for the socket); false when the
  // connection failed. `events` limits the service to sending (POLLOUT) or receiving (POLLIN): a
  // test can hold Data-Out back while it reads responses.
  bool poll_once(int timeout_ms, short events = POLLIN | POLLOUT);
  [[nodiscard]] int in_flight() const;         // commands without a response
  [[nodiscard]] int queued_to_send() const;    // PDUs not yet written to the socket

 private:
  Initiator(iscsi_context* context, std::string portal, std::string name);

  CommandSlot* new_slot();
  // Services the connection until `slot` completes; false on a dead connection or a timeout.
  bool wait_for(const CommandSlot* slot);

  iscsi_context* iscsi_;
  std::string portal_;
  std::string name_;
  int command_timeout_s_ = 60;
  // Completion slots of synchronous commands; a late callback (after a timeout, or from the
  // context's destruction) always finds its slot alive.
  std::list<std::unique_ptr<CommandSlot>> slots_;
};

// The response of PERSISTENT RESERVE IN / READ KEYS (SPC-4 6.15.2).
struct RegisteredKeys {
  uint32_t generation = 0;
  std::vector<uint64_t> keys;
};
RegisteredKeys parse_read_keys(std::span<const uint8_t> data);

// One target port group of REPORT TARGET PORT GROUPS (SPC-4 6.36).
struct PortGroupState {
  uint16_t id = 0;
  uint8_t state = 0;  // asymmetric access state: 0 active/optimized ... 3 unavailable
  std::vector<uint16_t> relative_ports;
};
std::vector<PortGroupState> parse_target_port_groups(std::span<const uint8_t> data);

// Designators of the Device Identification VPD page (SPC-4 7.8.6).
struct DeviceIdentification {
  std::vector<uint8_t> naa;       // the logical unit's NAA designator
  int target_port_group = -1;     // designator type 5
  int relative_target_port = -1;  // designator type 4
};
DeviceIdentification parse_device_identification(std::span<const uint8_t> data);

// A block pattern that names (tag, lba, generation) in its first bytes and fills the rest from them.
std::vector<uint8_t> pattern(uint64_t tag, uint64_t lba, uint64_t generation, uint32_t blocks);
// "tag 8 lba 4096 generation 12" from the first block of `data` (for failure messages).
std::string describe_pattern(std::span<const uint8_t> data);
// FNV-1a 64 of `data`, for messages that compare data without dumping it.
uint64_t checksum(std::span<const uint8_t> data);

}  // namespace portico::testing::mgw
