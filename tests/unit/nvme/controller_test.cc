// The NVMe command set executed on the shared core: a subsystem whose namespace 1 is the very unit
// a SCSI target exports as LUN 0 (in memory, on the local cluster state). What a host sees through
// a controller (Connect, properties, Identify, I/O, fused Compare + Write, aborts, asynchronous
// events) and what the two command sets see of each other's reservations.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>

#include "core/nvme/ana_log.h"
#include "core/nvme/controller.h"
#include "core/nvme/host.h"
#include "core/nvme/subsystem.h"
#include "tests/unit/core/test_fixtures.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get16;
using test::get32;
using test::get64;

constexpr const char* kSubsystem = "nqn.2026-11.io.portico:test";
constexpr const char* kHost = "nqn.2014-08.org.nvmexpress:uuid:host-a";

HostId host_id(uint8_t last) {
  HostId id{};
  id[0] = 0x5a;
  id[15] = last;
  return id;
}

// A dynamic-model Connect of the admin queue from host `host` (KATO 5 s).
Subsystem::ConnectResult connect_admin(Subsystem& subsystem, const std::string& subsystem_nqn, const std::string& host_nqn,
                            uint8_t host = 1) {
  ConnectCommand command;
  command.sq_size = 31;
  command.keep_alive_ms = 5000;
  ConnectData data;
  data.host_id = host_id(host);
  data.controller_id = kDynamicControllerId;
  data.subsystem_nqn = subsystem_nqn;
  data.host_nqn = host_nqn;
  return subsystem.connect(command, data);
}

SubmissionEntry fabrics_sqe(uint8_t fctype, uint8_t attrib, uint32_t offset, uint64_t value) {
  test::SqeBytes b;
  b.u8(0, kFabricsOpcode).u8(4, fctype).u8(40, attrib).u32(44, offset).u64(48, value);
  return *decode_sqe(b.bytes);
}

// An SQE carrying data through a transport SGL of `length` bytes.
SubmissionEntry sqe(uint8_t opcode, uint32_t nsid, uint32_t length, std::array<uint32_t, 6> cdw = {}) {
  SubmissionEntry e;
  e.opcode = opcode;
  e.psdt = DataPointerType::sgl_metadata_buffer;
  e.nsid = nsid;
  e.sgl.identifier = kSglTransportData;
  e.sgl.length = length;
  e.cdw10_15 = cdw;
  return e;
}

struct Fixture {
  Fixture() {
    SubsystemConfig config;
    config.nqn = kSubsystem;
    config.serial = "PORTICO-TEST";
    config.controller_id_first = 0x100;
    config.controller_id_count = 4;
    subsystem = std::make_unique<Subsystem>(config, f.cluster);
    EXPECT_TRUE(subsystem->add_namespace(1, f.unit).ok());
  }

  std::shared_ptr<Controller> connect(uint8_t host = 1, const std::string& nqn = kHost) {
    auto result = connect_admin(*subsystem, kSubsystem, nqn, host);
    auto* controller = std::get_if<std::shared_ptr<Controller>>(&result);
    if (controller == nullptr) return nullptr;
    return *controller;
  }

  // Connects and enables a controller as a host does: Property Set CC.EN with 64/16-byte entries.
  std::shared_ptr<Controller> enabled(uint8_t host = 1) {
    auto c = connect(host);
    EXPECT_TRUE(c);
    auto r = run(*c, admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00460001));
    EXPECT_TRUE(r.command->status.ok());
    EXPECT_TRUE(c->ready());
    return c;
  }

  struct Run {
    std::unique_ptr<NvmeCommand> command = std::make_unique<NvmeCommand>();
    std::shared_ptr<bool> finished = std::make_shared<bool>(false);
    [[nodiscard]] std::vector<uint8_t> data() const {
      return {command->data_in.data(), command->data_in.data() + command->data_in_length};
    }
  };

  Run run(Controller& c, QueueContext& queue, const SubmissionEntry& entry, std::vector<uint8_t> data_out = {},
          uint16_t cid = 1) {
    Run r;
    r.command->sqe = entry;
    r.command->sqe.cid = cid;
    r.command->queue_id = queue.id;
    auto owned = std::make_shared<std::vector<uint8_t>>(std::move(data_out));
    buffers.push_back(owned);
    r.command->data_out = *owned;
    c.execute(queue, *r.command, f.executor, [finished = r.finished]() { *finished = true; });
    return r;
  }

  Run read(Controller& c, uint64_t lba, uint32_t blocks, uint16_t cid = 1) {
    return run(c, io, sqe(0x02, 1, blocks * 512, {static_cast<uint32_t>(lba), 0, blocks - 1}), {}, cid);
  }
  Run write(Controller& c, uint64_t lba, std::vector<uint8_t> data, uint16_t cid = 1) {
    const auto blocks = static_cast<uint32_t>(data.size() / 512);
    return run(c, io, sqe(0x01, 1, static_cast<uint32_t>(data.size()), {static_cast<uint32_t>(lba), 0, blocks - 1}),
               std::move(data), cid);
  }
  // Reservation Register (RREGA `action`) with CRKEY / NRKEY.
  Run register_key(Controller& c, uint32_t cdw10, uint64_t current, uint64_t next) {
    std::vector<uint8_t> data(16, 0);
    test::put_le(data, 0, current, 8);
    test::put_le(data, 8, next, 8);
    return run(c, io, sqe(0x0d, 1, 16, {cdw10}), data);
  }
  Run acquire(Controller& c, uint8_t action, uint8_t nvme_type, uint64_t current, uint64_t preempt = 0) {
    std::vector<uint8_t> data(16, 0);
    test::put_le(data, 0, current, 8);
    test::put_le(data, 8, preempt, 8);
    return run(c, io, sqe(0x11, 1, 16, {uint32_t{action} | uint32_t{nvme_type} << 8}), data);
  }

  testing::TargetFixture f;
  std::unique_ptr<Subsystem> subsystem;
  QueueContext admin{0, 32, nullptr};
  QueueContext io{1, 128, nullptr};
  std::vector<std::shared_ptr<std::vector<uint8_t>>> buffers;
};

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

TEST(NvmeController, ConnectGivesIdsFromTheGatewaysRangeAndRefusesWhatIsNotAllowed) {
  Fixture x;
  auto a = x.connect(1);
  auto b = x.connect(2);
  ASSERT_TRUE(a && b);
  EXPECT_GE(a->id(), 0x100);
  EXPECT_LT(a->id(), 0x104);
  EXPECT_NE(a->id(), b->id());

  ConnectCommand command;
  command.sq_size = 31;
  ConnectData data;
  data.host_id = host_id(3);
  data.controller_id = kDynamicControllerId;
  data.subsystem_nqn = "nqn.2026-11.io.portico:other";
  data.host_nqn = kHost;
  auto wrong = x.subsystem->connect(command, data);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(wrong));
  EXPECT_EQ(std::get<ConnectRejection>(wrong).status, CommandSpecificStatus::connect_invalid_parameters);
  EXPECT_EQ(std::get<ConnectRejection>(wrong).dw0, (1u << 16) | 256u) << "IATTR=1, IPO = SUBNQN";

  // An I/O queue for a controller that is not enabled yet, or that does not exist.
  data.subsystem_nqn = kSubsystem;
  data.host_id = host_id(1);
  data.controller_id = a->id();
  command.queue_id = 1;
  auto early = x.subsystem->connect(command, data);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(early));
  EXPECT_EQ(std::get<ConnectRejection>(early).status, GenericStatus::command_sequence_error);
  data.controller_id = 0x1ff;
  EXPECT_TRUE(std::holds_alternative<ConnectRejection>(x.subsystem->connect(command, data)));

  // The range is four ids: two more controllers fill it, the next Connect is refused.
  auto c = x.connect(4);
  auto d = x.connect(5);
  ASSERT_TRUE(c && d);
  EXPECT_FALSE(x.connect(6));
  x.subsystem->remove_controller(c->id());
  c.reset();
  EXPECT_TRUE(x.connect(6)) << "a removed controller's id is free again";
}

TEST(NvmeController, AnAssociationRunsOverOneTransport) {
  Fixture x;
  auto c = x.enabled();  // its admin queue came over TCP
  EXPECT_EQ(c->transport(), FabricsTransport::tcp);
  ConnectCommand command;
  command.queue_id = 1;
  command.sq_size = 31;
  ConnectData data;
  data.host_id = host_id(1);
  data.controller_id = c->id();
  data.subsystem_nqn = kSubsystem;
  data.host_nqn = kHost;
  // An I/O queue over RDMA for a controller whose admin queue is on TCP: refused, naming QID.
  auto rdma = x.subsystem->connect(command, data, FabricsTransport::rdma);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(rdma));
  EXPECT_EQ(std::get<ConnectRejection>(rdma).status, CommandSpecificStatus::connect_invalid_parameters);
  EXPECT_EQ(std::get<ConnectRejection>(rdma).dw0, 42u);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<Controller>>(x.subsystem->connect(command, data)));
  // An RDMA controller announces Keyed SGL Data Blocks in Identify Controller (SGLS bit 2).
  ConnectCommand admin;
  admin.sq_size = 31;
  ConnectData admin_data = data;
  admin_data.host_id = host_id(2);
  admin_data.controller_id = kDynamicControllerId;
  auto over_rdma = x.subsystem->connect(admin, admin_data, FabricsTransport::rdma);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<Controller>>(over_rdma));
  auto& rdma_controller = *std::get<std::shared_ptr<Controller>>(over_rdma);
  ASSERT_TRUE(x.run(rdma_controller, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00460001)).command->status.ok());
  auto r = x.run(rdma_controller, x.admin, sqe(0x06, 0, 4096, {1}));
  ASSERT_TRUE(r.command->status.ok());
  EXPECT_EQ(test::get32(r.data(), 536) & 0x4u, 0x4u);
  auto t = x.run(*c, x.admin, sqe(0x06, 0, 4096, {1}));
  EXPECT_EQ(test::get32(t.data(), 536) & 0x4u, 0u);
}

TEST(NvmeController, HostsOutsideTheAllowedListAreRefused) {
  testing::TargetFixture f;
  SubsystemConfig config;
  config.nqn = kSubsystem;
  config.allowed_hosts = {"nqn.2014-08.org.nvmexpress:uuid:only-this-one"};
  Subsystem subsystem(config, f.cluster);
  auto refused = connect_admin(subsystem, kSubsystem, kHost);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(refused));
  EXPECT_EQ(std::get<ConnectRejection>(refused).status, CommandSpecificStatus::connect_invalid_host);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<Controller>>(
      connect_admin(subsystem, kSubsystem, config.allowed_hosts[0])));
}

TEST(NvmeController, PropertiesEnableTheControllerAndCommandsWaitForIt) {
  Fixture x;
  auto c = x.connect();
  ASSERT_TRUE(c);
  auto early = x.run(*c, x.admin, sqe(0x06, 0, 4096, {0x01}));
  EXPECT_EQ(early.command->status, GenericStatus::command_sequence_error);

  auto cap = x.run(*c, x.admin, fabrics_sqe(0x04, 1, kPropertyCap, 0));
  ASSERT_TRUE(cap.command->status.ok());
  const uint64_t cap_value = uint64_t{cap.command->result_dw0} | uint64_t{cap.command->result_dw1} << 32;
  EXPECT_EQ(cap_value & 0xffff, 127u) << "MQES: 128 entries, 0's based";
  EXPECT_TRUE(cap_value & (1ull << 37)) << "NVM command set";
  auto vs = x.run(*c, x.admin, fabrics_sqe(0x04, 0, kPropertyVersion, 0));
  EXPECT_EQ(vs.command->result_dw0, kReportedVersion);

  // Invalid entry sizes: the controller reports a fatal status instead of becoming ready.
  x.run(*c, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00550001));
  auto csts = x.run(*c, x.admin, fabrics_sqe(0x04, 0, kPropertyCsts, 0));
  EXPECT_EQ(csts.command->result_dw0 & (kCstsReady | kCstsFatal), kCstsFatal);
  x.run(*c, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0));
  x.run(*c, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00460001));
  csts = x.run(*c, x.admin, fabrics_sqe(0x04, 0, kPropertyCsts, 0));
  EXPECT_EQ(csts.command->result_dw0 & (kCstsReady | kCstsFatal), kCstsReady);

  // Shutdown: the cache is flushed, then CSTS.SHST says complete.
  x.run(*c, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00464001));
  csts = x.run(*c, x.admin, fabrics_sqe(0x04, 0, kPropertyCsts, 0));
  EXPECT_EQ(csts.command->result_dw0 & (3u << 2), kCstsShutdownComplete);
}

TEST(NvmeController, IdentifyNamesTheUnitAsItsScsiIdentityDoes) {
  Fixture x;
  auto c = x.enabled();
  auto ctrl = x.run(*c, x.admin, sqe(0x06, 0, 4096, {0x01}));
  ASSERT_TRUE(ctrl.command->status.ok());
  const auto id = ctrl.data();
  ASSERT_EQ(id.size(), 4096u);
  EXPECT_EQ(get16(id, 78), c->id()) << "CNTLID";
  EXPECT_EQ(get32(id, 80), kReportedVersion);
  EXPECT_EQ(get32(id, 516), 1u) << "NN";
  EXPECT_EQ(test::cstring_at(id, 768, 256), kSubsystem);
  EXPECT_EQ(get16(id, 522) & 1, 1) << "FUSES: Compare and Write, the backend can do it";

  auto ns = x.run(*c, x.admin, sqe(0x06, 1, 4096, {0x00}));
  ASSERT_TRUE(ns.command->status.ok());
  const auto nsdata = ns.data();
  EXPECT_EQ(get64(nsdata, 0), 2048u) << "NSZE";
  EXPECT_EQ(get32(nsdata, 92), x.f.cluster.local_target_port_group()) << "ANAGRPID: this gateway's group";
  const auto eui = x.f.unit->identity().eui64();
  EXPECT_TRUE(std::equal(eui.begin(), eui.end(), nsdata.begin() + 120));

  auto missing = x.run(*c, x.admin, sqe(0x06, 7, 4096, {0x00}));
  EXPECT_EQ(missing.command->status, CompletionStatus(GenericStatus::invalid_namespace).no_retry());
  auto list = x.run(*c, x.admin, sqe(0x06, 0, 4096, {0x02}));
  EXPECT_EQ(get32(list.data(), 0), 1u);
  EXPECT_EQ(get32(list.data(), 4), 0u);
}

TEST(NvmeController, WriteThenReadThroughTheUnitsDevice) {
  Fixture x;
  auto c = x.enabled();
  auto data = pattern(4096, 3);
  auto w = x.write(*c, 8, data);
  ASSERT_TRUE(*w.finished);
  EXPECT_TRUE(w.command->status.ok());
  EXPECT_EQ(std::memcmp(x.f.device->bytes().data() + 8 * 512, data.data(), data.size()), 0);
  auto r = x.read(*c, 8, 8);
  EXPECT_TRUE(r.command->status.ok());
  EXPECT_EQ(r.data(), data);

  auto beyond = x.read(*c, 2047, 2);
  EXPECT_EQ(beyond.command->status, CompletionStatus(GenericStatus::lba_out_of_range).no_retry());
  auto wrong_length = x.run(*c, x.io, sqe(0x02, 1, 512, {0, 0, 1}));
  EXPECT_EQ(wrong_length.command->status, CompletionStatus(GenericStatus::data_sgl_length_invalid).no_retry());
  auto bad_ns = x.run(*c, x.io, sqe(0x02, 9, 512, {0, 0, 0}));
  EXPECT_EQ(bad_ns.command->status, CompletionStatus(GenericStatus::invalid_namespace).no_retry());
  auto bad_opcode = x.run(*c, x.io, sqe(0x7e, 1, 0, {}));
  EXPECT_EQ(bad_opcode.command->status, CompletionStatus(GenericStatus::invalid_opcode).no_retry());
}

TEST(NvmeController, WriteZeroesAndDeallocateLeaveZeroes) {
  Fixture x;
  auto c = x.enabled();
  x.write(*c, 0, pattern(8192, 9));
  auto wz = x.run(*c, x.io, sqe(0x08, 1, 0, {0, 0, 3}));  // blocks 0-3
  EXPECT_TRUE(wz.command->status.ok());
  std::vector<uint8_t> range(16, 0);
  test::put_le(range, 4, 4, 4);   // 4 blocks
  test::put_le(range, 8, 8, 8);   // from LBA 8
  auto dsm = x.run(*c, x.io, sqe(0x09, 1, 16, {0, 1u << 2}), range);
  EXPECT_TRUE(dsm.command->status.ok());
  const auto& bytes = x.f.device->bytes();
  EXPECT_TRUE(test::all_zero(bytes, 0, 4 * 512));
  EXPECT_FALSE(test::all_zero(bytes, 4 * 512, 8 * 512)) << "blocks 4-7 were not in either range";
  EXPECT_TRUE(test::all_zero(bytes, 8 * 512, 12 * 512));
  EXPECT_FALSE(test::all_zero(bytes, 12 * 512, 16 * 512));

  // Three ranges, one of them empty, each deallocated in turn.
  std::vector<uint8_t> ranges(48, 0);
  test::put_le(ranges, 4, 2, 4);
  test::put_le(ranges, 8, 4, 8);    // LBA 4-5
  test::put_le(ranges, 36, 1, 4);
  test::put_le(ranges, 40, 14, 8);  // LBA 14
  auto three = x.run(*c, x.io, sqe(0x09, 1, 48, {2, 1u << 2}), ranges);
  EXPECT_TRUE(three.command->status.ok());
  EXPECT_TRUE(test::all_zero(x.f.device->bytes(), 4 * 512, 6 * 512));
  EXPECT_TRUE(test::all_zero(x.f.device->bytes(), 14 * 512, 15 * 512));
  EXPECT_FALSE(test::all_zero(x.f.device->bytes(), 6 * 512, 8 * 512));

  // Verify reads the range in pieces; past the end it is LBA Out of Range.
  auto verify = x.run(*c, x.io, sqe(0x0c, 1, 0, {0, 0, 2047}));
  EXPECT_TRUE(verify.command->status.ok());
  EXPECT_EQ(verify.command->data_in_length, 0u);
  auto beyond = x.run(*c, x.io, sqe(0x0c, 1, 0, {2047, 0, 1}));
  EXPECT_EQ(beyond.command->status, CompletionStatus(GenericStatus::lba_out_of_range).no_retry());
}

TEST(NvmeController, FusedCompareAndWriteIsTheBackendsAtomicCompareAndWrite) {
  Fixture x;
  auto c = x.enabled();
  auto old_data = pattern(512, 1);
  auto new_data = pattern(512, 2);
  x.write(*c, 4, old_data);

  auto compare_sqe = sqe(0x05, 1, 512, {4, 0, 0});
  compare_sqe.fuse = FusedOperation::first;
  auto write_sqe = sqe(0x01, 1, 512, {4, 0, 0});
  write_sqe.fuse = FusedOperation::second;
  auto compare = x.run(*c, x.io, compare_sqe, old_data, 10);
  EXPECT_FALSE(*compare.finished) << "the Compare waits for its Write";
  auto write = x.run(*c, x.io, write_sqe, new_data, 11);
  ASSERT_TRUE(*compare.finished && *write.finished);
  EXPECT_TRUE(compare.command->status.ok());
  EXPECT_TRUE(write.command->status.ok());
  EXPECT_EQ(std::memcmp(x.f.device->bytes().data() + 4 * 512, new_data.data(), 512), 0);

  // The same pair again: the medium no longer holds old_data.
  auto compare2 = x.run(*c, x.io, compare_sqe, old_data, 12);
  auto write2 = x.run(*c, x.io, write_sqe, pattern(512, 3), 13);
  EXPECT_EQ(compare2.command->status, CompletionStatus(MediaStatus::compare_failure).no_retry());
  EXPECT_EQ(write2.command->status, CompletionStatus(GenericStatus::aborted_fused_failure).no_retry());
  EXPECT_EQ(std::memcmp(x.f.device->bytes().data() + 4 * 512, new_data.data(), 512), 0);

  // A Compare followed by anything but its Write ends with Missing Fused Command.
  auto lonely = x.run(*c, x.io, compare_sqe, new_data, 14);
  auto other = x.read(*c, 0, 1, 15);
  EXPECT_EQ(lonely.command->status, CompletionStatus(GenericStatus::aborted_fused_missing).no_retry());
  EXPECT_TRUE(other.command->status.ok());
}

TEST(NvmeController, AbortEndsAnIoCommandInFlight) {
  Fixture x;
  auto c = x.enabled();
  x.f.device->hold = true;
  auto r = x.read(*c, 0, 1, 42);
  EXPECT_FALSE(*r.finished);
  auto abort = x.run(*c, x.admin, sqe(0x08, 0, 0, {(42u << 16) | 1u}));
  EXPECT_FALSE(*abort.finished) << "the Abort answers once the command has ended";
  x.f.device->release_all();
  ASSERT_TRUE(*abort.finished && *r.finished);
  EXPECT_EQ(abort.command->result_dw0 & 1, 0u) << "aborted";
  EXPECT_EQ(r.command->status, GenericStatus::abort_requested);
  auto none = x.run(*c, x.admin, sqe(0x08, 0, 0, {(43u << 16) | 1u}));
  EXPECT_EQ(none.command->result_dw0 & 1, 1u) << "no such command: not aborted";
}

TEST(NvmeController, AnNvmeReservationBindsScsiInitiatorsAndTheReverse) {
  Fixture x;
  auto c = x.enabled();
  auto scsi = x.f.target.attach(testing::make_nexus("iqn.2026-11.io.portico:client-b"));
  x.f.clear_ua(*scsi);

  ASSERT_TRUE(x.register_key(*c, 0, 0, 0xaa).command->status.ok());
  ASSERT_TRUE(x.acquire(*c, 0, 1, 0xaa).command->status.ok());  // Write Exclusive
  auto state = x.f.unit->reservations();
  ASSERT_TRUE(state.reservation.has_value());
  EXPECT_EQ(state.reservation->type, ReservationType::write_exclusive);

  // A SCSI WRITE(10) from a non-holder: RESERVATION CONFLICT. A read is allowed.
  auto scsi_write = x.f.run(*scsi, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 1));
  EXPECT_EQ(scsi_write.task->status, scsi::ScsiStatus::reservation_conflict);
  auto scsi_read = x.f.run(*scsi, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(scsi_read.task->status, scsi::ScsiStatus::good);
  EXPECT_TRUE(x.write(*c, 0, pattern(512, 5)).command->status.ok()) << "the holder writes";

  // The SCSI initiator registers and preempts the NVMe host: the host's registration is gone,
  // its writes conflict, and it learns of it through an asynchronous event and log page 80h.
  auto aer = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 77);
  EXPECT_FALSE(*aer.finished);
  ASSERT_EQ(x.f.pr_out(*scsi, 0x00, 0, 0, 0xbb).task->status, scsi::ScsiStatus::good);         // REGISTER
  ASSERT_EQ(x.f.pr_out(*scsi, 0x04, 0x01, 0xbb, 0xaa).task->status, scsi::ScsiStatus::good);  // PREEMPT, WE
  ASSERT_TRUE(*aer.finished);
  const AsyncEvent event = decode_async_event(aer.command->result_dw0);
  EXPECT_EQ(event.type, AsyncEventType::io_command_set);
  EXPECT_EQ(event.log_page, LogPageId::reservation_notification);
  auto log = x.run(*c, x.admin, sqe(0x02, 0, 64, {0x80u | (15u << 16)}));
  ASSERT_TRUE(log.command->status.ok());
  EXPECT_EQ(get64(log.data(), 0), 1u) << "log page count";
  EXPECT_EQ(log.data()[8], static_cast<uint8_t>(ReservationNoticeType::registration_preempted));
  EXPECT_EQ(get32(log.data(), 12), 1u) << "NSID";
  auto nvme_write = x.write(*c, 0, pattern(512, 6));
  EXPECT_EQ(nvme_write.command->status, CompletionStatus(GenericStatus::reservation_conflict).no_retry());
}

TEST(NvmeController, ReservationReportListsEveryRegistrantWhicheverCommandSetRegistered) {
  Fixture x;
  auto c = x.enabled();
  auto scsi = x.f.target.attach(testing::make_nexus("iqn.2026-11.io.portico:client-b"));
  x.f.clear_ua(*scsi);
  ASSERT_TRUE(x.register_key(*c, 0, 0, 0x11).command->status.ok());
  ASSERT_EQ(x.f.pr_out(*scsi, 0x00, 0, 0, 0x22).task->status, scsi::ScsiStatus::good);
  auto report = x.run(*c, x.io, sqe(0x0e, 1, 4096, {4096 / 4 - 1, 1}));
  ASSERT_TRUE(report.command->status.ok());
  const auto data = report.data();
  EXPECT_EQ(get16(data, 5), 2u) << "REGCTL";
  std::set<uint64_t> keys{get64(data, 64 + 8), get64(data, 128 + 8)};
  EXPECT_EQ(keys, (std::set<uint64_t>{0x11, 0x22}));
  const HostId mine = host_id(1);
  const bool host_listed = std::equal(mine.begin(), mine.end(), data.begin() + 64 + 16) ||
                           std::equal(mine.begin(), mine.end(), data.begin() + 128 + 16);
  EXPECT_TRUE(host_listed) << "the NVMe host is named by its Host Identifier";

  // And PERSISTENT RESERVE IN READ KEYS through SCSI shows both keys too.
  auto keys_in = x.f.run(*scsi, {0x5e, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0});
  ASSERT_EQ(keys_in.task->status, scsi::ScsiStatus::good);
  EXPECT_EQ(load_be32(keys_in.task->data_in.data() + 4), 16u) << "two 8-byte keys";
}

TEST(NvmeController, RegisterFollowsNvmeRules) {
  Fixture x;
  auto c = x.enabled();
  EXPECT_TRUE(x.register_key(*c, 0, 0, 0x5).command->status.ok());
  EXPECT_TRUE(x.register_key(*c, 0, 0, 0x5).command->status.ok()) << "again with the same key";
  EXPECT_EQ(x.register_key(*c, 0, 0, 0x6).command->status,
            CompletionStatus(GenericStatus::reservation_conflict).no_retry());
  EXPECT_EQ(x.register_key(*c, 2, 0x9, 0x7).command->status,
            CompletionStatus(GenericStatus::reservation_conflict).no_retry())
      << "replace with the wrong current key";
  EXPECT_TRUE(x.register_key(*c, 2 | (1u << 3), 0x9, 0x7).command->status.ok()) << "IEKEY";
  EXPECT_TRUE(x.register_key(*c, 1, 0x7, 0).command->status.ok()) << "unregister";
  EXPECT_TRUE(x.f.unit->reservations().registrants.empty());
  EXPECT_EQ(x.register_key(*c, 1, 0x7, 0).command->status,
            CompletionStatus(GenericStatus::reservation_conflict).no_retry());
  // CPTPL 11b: persist through power loss, kept in the same record SCSI's APTPL is.
  EXPECT_TRUE(x.register_key(*c, 3u << 30, 0, 0x8).command->status.ok());
  EXPECT_TRUE(x.f.unit->reservations().aptpl);
  auto ptpl = x.run(*c, x.admin, sqe(0x0a, 1, 0, {0x83}));
  EXPECT_EQ(ptpl.command->result_dw0, 1u);
}

TEST(NvmeController, KeepAliveExpiresWithoutCommands) {
  Fixture x;
  auto c = x.enabled();
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  EXPECT_FALSE(c->keep_alive_expired(now));
  EXPECT_TRUE(c->keep_alive_expired(now + 6'000'000'000)) << "KATO 5 s";
  c->touch(now + 6'000'000'000);
  EXPECT_FALSE(c->keep_alive_expired(now + 7'000'000'000));
}

TEST(NvmeController, AnaLogListsThisGatewaysGroupWithTheNamespace) {
  Fixture x;
  auto c = x.enabled();
  auto log = x.run(*c, x.admin, sqe(0x02, 0, 4096, {0x0cu | ((4096u / 4 - 1) << 16)}));
  ASSERT_TRUE(log.command->status.ok());
  const auto data = log.data();
  EXPECT_GE(get16(data, 8), 1u) << "NGRPS";
  EXPECT_EQ(get32(data, 16), x.f.cluster.local_target_port_group()) << "ANAGRPID";
  EXPECT_EQ(get32(data, 20), 1u) << "NNSID";
  EXPECT_EQ(data[16 + 16], static_cast<uint8_t>(AnaState::optimized));
  EXPECT_EQ(get32(data, 16 + 32), 1u) << "NSID 1";
}

TEST(NvmeController, SetFeaturesGrantsQueuesWithinTheLimit) {
  Fixture x;
  auto c = x.enabled();
  auto q = x.run(*c, x.admin, sqe(0x09, 0, 0, {0x07, (63u << 16) | 63u}));
  ASSERT_TRUE(q.command->status.ok());
  EXPECT_EQ(q.command->result_dw0, (7u << 16) | 7u) << "8 of 64 asked, 0's based";
  EXPECT_EQ(c->io_queue_limit(), 8);
  auto saved = x.run(*c, x.admin, sqe(0x09, 0, 0, {0x07u | (1u << 31), 0}));
  EXPECT_EQ(saved.command->status, CompletionStatus(CommandSpecificStatus::feature_not_saveable).no_retry());
  auto host = x.run(*c, x.admin, sqe(0x0a, 0, 16, {0x81, 1}));
  ASSERT_TRUE(host.command->status.ok());
  const HostId expected = host_id(1);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), host.data().begin()));
}

TEST(NvmeController, AGatewayThatCannotProveItsStateSendsHostsToAnotherPath) {
  Fixture x;
  auto c = x.enabled();
  auto publish = [&](LunEvent::Kind kind) {
    LunEvent event;
    event.kind = kind;
    bool done = false;
    x.f.cluster.publish(x.f.unit->cluster_key(), event, [&done](Status) { done = true; });
    ASSERT_TRUE(done);
  };
  publish(LunEvent::Kind::state_unknown);
  // ANA Transition is a path status: a multipathing host retries the command through another
  // controller at once, and re-reads this one's ANA log, which shows the group in change.
  auto refused = x.read(*c, 0, 1);
  EXPECT_EQ(refused.command->status, PathStatus::ana_transition);
  auto log = x.run(*c, x.admin, sqe(0x02, 0, 4096, {0x0cu | ((4096u / 4 - 1) << 16)}));
  ASSERT_TRUE(log.command->status.ok());
  EXPECT_EQ(log.data()[16 + 16], static_cast<uint8_t>(AnaState::change));
  publish(LunEvent::Kind::state_current);
  EXPECT_TRUE(x.read(*c, 0, 1).command->status.ok()) << "serving again once the state is re-read";
}

TEST(NvmeController, AnAccessStateChangeRaisesTheAnaChangeEvent) {
  Fixture x;
  auto c = x.enabled();
  auto aer = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 50);
  EXPECT_FALSE(*aer.finished);
  LunEvent event;
  event.kind = LunEvent::Kind::access_state_changed;
  x.f.cluster.publish(x.f.unit->cluster_key(), event, [](Status) {});
  ASSERT_TRUE(*aer.finished);
  const AsyncEvent raised = decode_async_event(aer.command->result_dw0);
  EXPECT_EQ(raised.type, AsyncEventType::notice);
  EXPECT_EQ(raised.info, kNoticeAnaChange);
  EXPECT_EQ(raised.log_page, LogPageId::ana);
}

TEST(NvmeController, NamespacesAddedAndRemovedLiveAreToldToTheHost) {
  Fixture x;
  auto c = x.enabled();
  auto aer = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 50);
  auto device = std::make_shared<testing::FakeBlockDevice>(1024 * 512);
  scsi::LogicalUnitConfig config;
  config.name = "test lun 1";
  config.identity_seed = "iqn.2026-11.io.portico:test/lun/1";
  std::shared_ptr<Unit> unit = *scsi::LogicalUnit::create(config, device, x.f.cluster);
  ASSERT_TRUE(x.subsystem->add_namespace(2, unit).ok());
  // Namespace Attribute Changed, with the namespace in the Changed Namespace List (Linux rescans).
  ASSERT_TRUE(*aer.finished);
  const AsyncEvent raised = decode_async_event(aer.command->result_dw0);
  EXPECT_EQ(raised.type, AsyncEventType::notice);
  EXPECT_EQ(raised.info, kNoticeNamespaceAttributeChanged);
  EXPECT_EQ(raised.log_page, LogPageId::changed_namespaces);
  auto changed = x.run(*c, x.admin, sqe(0x02, 0, 4096, {0x04u | (1023u << 16)}), {}, 51);
  ASSERT_TRUE(changed.command->status.ok());
  EXPECT_EQ(get32(changed.data(), 0), 2u);
  EXPECT_EQ(get32(changed.data(), 4), 0u);
  auto active = x.run(*c, x.admin, sqe(0x06, 0, 4096, {0x02}), {}, 52);
  ASSERT_TRUE(active.command->status.ok());
  EXPECT_EQ(get32(active.data(), 0), 1u);
  EXPECT_EQ(get32(active.data(), 4), 2u);
  auto read = x.run(*c, x.io, sqe(0x02, 2, 512, {0, 0, 0}), {}, 53);
  EXPECT_TRUE(read.command->status.ok()) << "the new namespace serves";

  auto again = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 54);
  device->hold = true;
  auto in_flight = x.run(*c, x.io, sqe(0x02, 2, 512, {0, 0, 0}), {}, 55);
  ASSERT_FALSE(*in_flight.finished);
  auto removed = x.subsystem->remove_namespace(2);
  ASSERT_EQ(removed, unit);
  ASSERT_TRUE(*again.finished);
  EXPECT_EQ(decode_async_event(again.command->result_dw0).info, kNoticeNamespaceAttributeChanged);
  bool idle = false;
  removed->when_idle([&idle]() { idle = true; });
  EXPECT_FALSE(idle) << "its read is still running";
  auto refused = x.run(*c, x.io, sqe(0x02, 2, 512, {0, 0, 0}), {}, 56);
  EXPECT_FALSE(refused.command->status.ok()) << "a removed namespace does not serve";
  device->release_all();
  EXPECT_TRUE(*in_flight.finished);
  EXPECT_TRUE(in_flight.command->status.ok()) << "a command already running ends normally";
  EXPECT_TRUE(idle);
  EXPECT_EQ(x.subsystem->active_nsids(), std::vector<uint32_t>{1});
}

TEST(NvmeController, ADiscoveryControllerTellsItsHostWhenTheDiscoveryLogChanges) {
  // A host with a persistent discovery connection (Linux: `nvme discover --persistent`, nvme-stas)
  // enables the Discovery Log Page Change notice and keeps an AER outstanding; a gateway that
  // joins or leaves changes the log, and the host reads it again when told.
  testing::TargetFixture f;
  auto entries = std::make_shared<std::vector<DiscoveryEntry>>(1);
  (*entries)[0].subsystem_nqn = kSubsystem;
  (*entries)[0].address = "192.0.2.1";
  (*entries)[0].service_id = "4420";
  SubsystemConfig config;
  config.nqn = kDiscoveryNqn;
  config.discovery = true;
  config.serial = "PORTICO-DISC";
  config.controller_id_first = 0x200;
  config.controller_id_count = 4;
  config.discovery_entries = [entries](const std::string&) { return *entries; };
  Subsystem discovery(config, f.cluster);
  auto connected = connect_admin(discovery, kDiscoveryNqn, kHost);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<Controller>>(connected));
  auto c = std::get<std::shared_ptr<Controller>>(connected);
  Fixture x;  // for its run() helper and queues
  ASSERT_TRUE(x.run(*c, x.admin, fabrics_sqe(0x00, 0, kPropertyCc, 0x00460001)).command->status.ok());

  auto identify = x.run(*c, x.admin, sqe(0x06, 0, 4096, {0x01}));
  ASSERT_TRUE(identify.command->status.ok());
  EXPECT_EQ(get32(identify.data(), 92), 1u << 31) << "OAES lists only the discovery log change notice";

  ASSERT_TRUE(x.run(*c, x.admin, sqe(0x09, 0, 0, {0x0b, 0x80000900})).command->status.ok());
  auto features = x.run(*c, x.admin, sqe(0x0a, 0, 0, {0x0b}));
  EXPECT_EQ(features.command->result_dw0, 0x80000000u) << "I/O controllers' notices are not a discovery controller's";

  const uint32_t log_dwords = 4096 / 4 - 1;
  auto log = x.run(*c, x.admin, sqe(0x02, 0, 4096, {0x70u | (log_dwords << 16)}));
  ASSERT_TRUE(log.command->status.ok());
  const uint64_t first_generation = get64(log.data(), 0);
  EXPECT_EQ(get64(log.data(), 8), 1u);

  auto aer = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 60);
  c->check_discovery_log();
  EXPECT_FALSE(*aer.finished) << "nothing changed";

  DiscoveryEntry second = (*entries)[0];
  second.address = "192.0.2.2";
  second.port_id = 2;
  entries->push_back(second);
  c->check_discovery_log();
  ASSERT_TRUE(*aer.finished);
  const AsyncEvent raised = decode_async_event(aer.command->result_dw0);
  EXPECT_EQ(raised.type, AsyncEventType::notice);
  EXPECT_EQ(raised.info, kNoticeDiscoveryLogChanged);
  EXPECT_EQ(raised.log_page, LogPageId::discovery);

  // Until the host reads the log again, no second event; after it, the next change raises one.
  auto aer2 = x.run(*c, x.admin, sqe(0x0c, 0, 0, {}), {}, 61);
  entries->pop_back();
  c->check_discovery_log();
  EXPECT_FALSE(*aer2.finished);
  auto reread = x.run(*c, x.admin, sqe(0x02, 0, 4096, {0x70u | (log_dwords << 16)}));
  ASSERT_TRUE(reread.command->status.ok());
  EXPECT_EQ(get64(reread.data(), 0), first_generation) << "GENCTR follows the list";
  entries->push_back(second);
  c->check_discovery_log();
  EXPECT_TRUE(*aer2.finished);
  c->release_queue(x.admin);
}

TEST(NvmeController, NoTransferBeyondMdtsIsAccepted) {
  // The subsystem's MDTS (1 MiB by default) bounds what any command moves, so a Reservation
  // Report or a log page asking for gigabytes allocates nothing (found by fuzz_nvme_command).
  Fixture x;
  auto c = x.enabled();
  auto report = x.run(*c, x.io, sqe(0x0e, 1, 3u << 30, {0xbfffffff, 1}));
  EXPECT_EQ(report.command->status, CompletionStatus(GenericStatus::invalid_field).no_retry());
  auto log = x.run(*c, x.admin, sqe(0x02, 0, 2u << 20, {0x02u | (0xffffu << 16), 0x7}));
  EXPECT_EQ(log.command->status, CompletionStatus(GenericStatus::invalid_field).no_retry());
  auto write = x.run(*c, x.io, sqe(0x01, 1, 2u << 20, {0, 0, 4095}), std::vector<uint8_t>(2u << 20));
  EXPECT_EQ(write.command->status, CompletionStatus(GenericStatus::invalid_field).no_retry());
}

}  // namespace
}  // namespace portico::nvme
