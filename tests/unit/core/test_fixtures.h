// Shared fixtures for core tests: an in-memory block device whose completions can be held
// back (to test aborts of I/O in flight), an inline executor, and a target with one LUN.
#pragma once

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "cluster/local/local_cluster_state.h"
#include "core/common/big_endian.h"
#include "core/block_device.h"
#include "core/scsi/logical_unit.h"
#include "core/scsi/scsi_target.h"

namespace portico::testing {

class InlineExecutor final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override { fn(); }
  // Delays are not simulated: paced work runs at once (the pacing arithmetic is tested alone).
  void post_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn) override {
    delays.push_back(delay);
    fn();
  }
  std::vector<std::chrono::milliseconds> delays;
  [[nodiscard]] bool in_executor_thread() const override { return true; }
};

// Small honest block device: bytes in a vector; `hold` defers completions until release_all();
// `fail_with` makes every operation fail with that errno, changing nothing, as a backend would.
class FakeBlockDevice final : public BlockDevice {
 public:
  explicit FakeBlockDevice(uint64_t size, uint32_t block_size = 512) : bytes_(size) {
    info_.block_size = block_size;
    info_.kind = "fake";
    info_.max_compare_and_write_bytes = 1u << 20;
  }
  const BlockDeviceInfo& info() const override { return info_; }
  BlockDeviceInfo& mutable_info() { return info_; }
  uint64_t capacity_bytes() const override { return bytes_.size(); }

  void read(Executor&, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override {
    finish([this, offset, dst]() { std::memcpy(dst.data(), bytes_.data() + offset, dst.size()); }, std::move(done));
  }
  void write(Executor&, uint64_t offset, std::span<const uint8_t> src, bool, IoCallback done) override {
    finish([this, offset, src]() { std::memcpy(bytes_.data() + offset, src.data(), src.size()); }, std::move(done));
  }
  void flush(Executor&, IoCallback done) override { finish([]() {}, std::move(done)); }
  void discard(Executor&, uint64_t offset, uint64_t length, IoCallback done) override {
    finish([this, offset, length]() { std::memset(bytes_.data() + offset, 0, length); }, std::move(done));
  }
  void write_zeroes(Executor& e, uint64_t offset, uint64_t length, IoCallback done) override {
    discard(e, offset, length, std::move(done));
  }
  void compare_and_write(Executor&, uint64_t offset, std::span<const uint8_t> expected,
                         std::span<const uint8_t> replacement, IoCallback done) override {
    if (fail_with != 0) return done(IoStatus{fail_with});
    IoStatus status;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (bytes_[offset + i] != expected[i]) {
        status.miscompare = true;
        status.miscompare_offset = i;
        break;
      }
    }
    if (!status.miscompare) std::memcpy(bytes_.data() + offset, replacement.data(), replacement.size());
    done(status);
  }
  // Atomic trivially: one memcpy on the test's thread. Offered when a test sets
  // max_atomic_write_bytes.
  void write_atomic(Executor& e, uint64_t offset, std::span<const uint8_t> src, bool fua, IoCallback done) override {
    write(e, offset, src, fua, std::move(done));
  }

  void allocation(Executor& executor, uint64_t offset, uint64_t length, size_t max_extents,
                  AllocationCallback done) override {
    if (fail_with != 0) return done(fail_with, {});
    BlockDevice::allocation(executor, offset, length, max_extents, std::move(done));
  }

  int fail_with = 0;  // a positive errno: every operation fails with it
  bool hold = false;
  size_t held() const { return held_.size(); }
  void release_all() {
    auto pending = std::move(held_);
    held_.clear();
    for (auto& p : pending) p();
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  template <typename Effect>
  void finish(Effect effect, IoCallback done) {
    if (fail_with != 0) {
      const IoStatus failed{fail_with};
      if (!hold) return done(failed);
      held_.emplace_back([failed, done = std::make_shared<IoCallback>(std::move(done))]() { (*done)(failed); });
      return;
    }
    if (!hold) {
      effect();
      done(IoStatus{});
      return;
    }
    held_.emplace_back([effect, done = std::make_shared<IoCallback>(std::move(done))]() mutable {
      effect();
      (*done)(IoStatus{});
    });
  }

  BlockDeviceInfo info_;
  std::vector<uint8_t> bytes_;
  std::deque<std::function<void()>> held_;
};

inline scsi::ItNexus make_nexus(const std::string& initiator, const std::string& isid = "0x000000000001") {
  scsi::ItNexus n;
  n.initiator_name = initiator;
  n.initiator_port_name = initiator + ",i," + isid;
  n.target_name = "iqn.2026-11.io.portico:test";
  n.target_port_name = "iqn.2026-11.io.portico:test,t,0x0001";
  return n;
}

// A target with LUN 0 on a FakeBlockDevice of `blocks` 512-byte blocks.
struct TargetFixture {
  explicit TargetFixture(uint64_t blocks = 2048,
                         const std::function<void(scsi::LogicalUnitConfig&)>& configure = {}) {
    device = std::make_shared<FakeBlockDevice>(blocks * 512);
    scsi::LogicalUnitConfig config;
    config.name = "test lun 0";
    if (configure) configure(config);
    config.identity_seed = "iqn.2026-11.io.portico:test/lun/0";
    auto created = scsi::LogicalUnit::create(config, device, cluster);
    unit = *created;
    target.add_lun(0, unit);
  }

  // Runs a command synchronously (or leaves it pending when the device holds completions).
  struct Run {
    std::unique_ptr<scsi::ScsiTask> task = std::make_unique<scsi::ScsiTask>();
    std::shared_ptr<bool> finished = std::make_shared<bool>(false);
  };
  Run submit(scsi::NexusState& nexus, std::vector<uint8_t> cdb, std::vector<uint8_t> data_out = {},
             uint64_t lun = 0, uint64_t tag = 1) {
    Run run;
    std::copy(cdb.begin(), cdb.end(), run.task->cdb_bytes.begin());
    run.task->lun = lun;
    run.task->tag = tag;
    auto owned = std::make_shared<std::vector<uint8_t>>(std::move(data_out));
    data_buffers.push_back(owned);
    run.task->data_out = *owned;
    target.execute(nexus, *run.task, executor, [finished = run.finished]() { *finished = true; });
    return run;
  }
  Run run(scsi::NexusState& nexus, std::vector<uint8_t> cdb, std::vector<uint8_t> data_out = {}, uint64_t lun = 0) {
    auto r = submit(nexus, std::move(cdb), std::move(data_out), lun);
    return r;
  }
  // Clears the power-on unit attention.
  void clear_ua(scsi::NexusState& nexus) { run(nexus, {0x00, 0, 0, 0, 0, 0}); }
  // PERSISTENT RESERVE OUT with a basic 24-byte parameter list (RESERVATION KEY, SERVICE ACTION
  // RESERVATION KEY): service action `action`, reservation type `type`.
  Run pr_out(scsi::NexusState& nexus, uint8_t action, uint8_t type, uint64_t key, uint64_t sa_key) {
    std::vector<uint8_t> params(24, 0);
    store_be64(params.data(), key);
    store_be64(params.data() + 8, sa_key);
    return run(nexus, {0x5f, action, type, 0, 0, 0, 0, 0, 24, 0}, params);
  }

  // The cluster's record of LUN 0 as stored (what another gateway would read): its version and
  // its state; std::nullopt if it does not parse.
  std::optional<std::pair<uint64_t, ReservationState>> stored_record() {
    VersionedRecord stored;
    cluster.read_reservation(unit->cluster_key(), [&stored](Result<VersionedRecord> r) { stored = *r; });
    auto state = parse_reservation_state(stored.bytes);
    if (!state.ok()) return std::nullopt;
    return std::make_pair(stored.version, std::move(*state));
  }

  cluster::LocalClusterState cluster;
  InlineExecutor executor;
  std::shared_ptr<FakeBlockDevice> device;
  std::shared_ptr<scsi::LogicalUnit> unit;
  scsi::ScsiTarget target;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> data_buffers;
};

// The in-memory cluster state behind a ClusterState of a test's own: every call goes to `local`,
// and a test overrides the ones it changes (publishes that fail, reads held back, metrics).
class LocalClusterProxy : public ClusterState {
 public:
  Result<LunIdentity> lun_identity(const std::string& key) override { return local.lun_identity(key); }
  std::vector<TargetPortGroupInfo> target_port_groups() override { return local.target_port_groups(); }
  uint16_t local_target_port_group() override { return local.local_target_port_group(); }
  std::unique_ptr<EventSubscription> subscribe(const std::string& key, EventHandler handler) override {
    return local.subscribe(key, std::move(handler));
  }
  void publish(const std::string& key, const LunEvent& event, UniqueFunction<void(Status)> done) override {
    local.publish(key, event, std::move(done));
  }
  void read_reservation(const std::string& key, UniqueFunction<void(Result<VersionedRecord>)> done) override {
    local.read_reservation(key, std::move(done));
  }
  void write_reservation(const std::string& key, uint64_t version, std::string bytes, bool aptpl,
                         UniqueFunction<void(Status)> done) override {
    local.write_reservation(key, version, std::move(bytes), aptpl, std::move(done));
  }

  cluster::LocalClusterState local;
};

// A finished task's sense key and ASC, from fixed or descriptor sense data; {FFh, FFh} without any.
inline std::pair<uint8_t, uint8_t> sense_key_asc(const scsi::ScsiTask& task) {
  if (task.sense.size() < 14) return {0xff, 0xff};
  if ((task.sense[0] & 0x7f) == 0x72) return {task.sense[1], task.sense[2]};
  return {task.sense[2], task.sense[12]};
}

}  // namespace portico::testing
