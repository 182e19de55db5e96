// One TCMU backstore device of the kernel target (LIO) served by porticod: its /dev/uioN mapped,
// its command ring read on one event loop, each command executed by the core's SCSI target as
// a task of the device's nexus (fabric_nexus.h), the answer written back into the ring and the
// kernel kicked. Lives on one loop for its whole life; the data path takes no lock. READ and
// WRITE move their data straight between the data area's iovecs and the backend (the core's
// data segments); other commands' data is copied to or from the core's buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/common/result.h"
#include "core/common/unique_function.h"
#include "core/io_buffer.h"
#include "core/scsi/scsi_target.h"
#include "frontends/fc_tcmu/ring/command_ring.h"
#include "runtime/event_loop.h"

namespace portico::tcmu {

struct TcmuDeviceSettings {
  std::string name;        // the export's name, for logs
  std::string uio_device;  // "/dev/uioN"
  uint64_t map_size = 0;   // of the device's map0 (sysfs maps/map0/size)
  std::shared_ptr<scsi::ScsiTarget> target;
  uint64_t lun = 0;        // the unit's LUN in `target`
  scsi::ItNexus nexus;     // the one nexus whose commands arrive through this device
};

class TcmuDevice : public std::enable_shared_from_this<TcmuDevice> {
 public:
  // Opens and maps the device and checks its ring; serving starts with start().
  static Result<std::shared_ptr<TcmuDevice>> open(TcmuDeviceSettings settings, runtime::EventLoop& loop);
  ~TcmuDevice();
  TcmuDevice(const TcmuDevice&) = delete;
  TcmuDevice& operator=(const TcmuDevice&) = delete;

  // Attaches the nexus and serves the ring on the device's loop (from any thread).
  void start();
  // Stops reading the ring; `done` runs on the loop once every command the core was executing
  // has been answered in the ring (from any thread). Commands the kernel queues afterwards stay
  // in the ring for the next handler (a restarted porticod resets the ring: they end BUSY).
  void stop(UniqueFunction<void()> done);

  [[nodiscard]] const std::string& name() const { return settings_.name; }
  [[nodiscard]] runtime::EventLoop& loop() const { return loop_; }

 private:
  struct Command {
    scsi::ScsiTask task;
    RingCommand entry;
    IoBuffer gathered;  // the data-out of a command other than WRITE, given in several iovecs
    std::vector<std::span<const uint8_t>> data_out_segments;  // a WRITE's iovecs, in place
  };

  TcmuDevice(TcmuDeviceSettings settings, runtime::EventLoop& loop, int fd, uint8_t* map, CommandRing ring);

  void arm();
  void on_ready(int result);
  void drain();
  void run(RingCommand entry);
  void on_task_done(Command* command);
  void notify(const RingTmr& tmr);
  void answer(uint16_t cmd_id, uint8_t status, std::span<const uint8_t> sense, std::optional<uint32_t> read_len);
  void kick_soon();
  void kick();
  void count_aborted();
  void maybe_finish_stop();

  TcmuDeviceSettings settings_;
  runtime::EventLoop& loop_;
  const int fd_;
  uint8_t* const map_;
  CommandRing ring_;
  std::shared_ptr<scsi::NexusState> nexus_state_;
  std::unordered_map<uint16_t, std::unique_ptr<Command>> commands_;  // in the core
  bool armed_ = false;
  bool kick_posted_ = false;
  uint32_t aborted_unlogged_ = 0;  // commands ended TASK ABORTED since the last log line
  bool ring_broken_ = false;
  bool stopping_ = false;
  UniqueFunction<void()> stopped_;
};

}  // namespace portico::tcmu
