// EXTENDED COPY (LID1, SPC-4 6.4), RECEIVE COPY RESULTS (SPC-4 6.18) and the Third-party Copy
// VPD page (SPC-4 7.8.17): copies within and between the units of one target, every refusal of
// the parameter list, and what the copy manager reports afterwards.
#include <gtest/gtest.h>

#include "core/common/big_endian.h"
#include "core/scsi/copy_manager.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico::scsi {
namespace {

using testing::TargetFixture;

struct Sense {
  uint8_t key = 0xff;
  uint8_t asc = 0xff;
  uint8_t ascq = 0xff;
  bool operator==(const Sense&) const = default;
};

Sense sense_of(const ScsiTask& task) {
  if (task.sense.size() < 14) return {};
  return {static_cast<uint8_t>(task.sense[2] & 0x0f), task.sense[12], task.sense[13]};  // fixed format
}

// Sense-key specific field pointer of fixed-format sense (SPC-4 4.5.2.4.2).
uint16_t field_pointer(const ScsiTask& task) { return load_be16(task.sense.data() + 16); }

std::vector<uint8_t> identification_target(uint64_t naa, uint32_t block_size = 512, bool null_device = false) {
  std::vector<uint8_t> d(32, 0);
  d[0] = 0xe4;
  d[1] = null_device ? 0x20 : 0x00;
  d[4] = 0x01;  // binary
  d[5] = 0x03;  // logical unit association, NAA
  d[7] = 8;
  store_be64(d.data() + 8, naa);
  store_be24(d.data() + 29, block_size);
  return d;
}

std::vector<uint8_t> block_segment(uint16_t source, uint16_t destination, uint16_t blocks, uint64_t source_lba,
                                   uint64_t destination_lba) {
  std::vector<uint8_t> d(28, 0);
  d[0] = 0x02;
  store_be16(d.data() + 2, 0x18);
  store_be16(d.data() + 4, source);
  store_be16(d.data() + 6, destination);
  store_be16(d.data() + 10, blocks);
  store_be64(d.data() + 12, source_lba);
  store_be64(d.data() + 20, destination_lba);
  return d;
}

std::vector<uint8_t> parameter_list(const std::vector<std::vector<uint8_t>>& targets,
                                    const std::vector<std::vector<uint8_t>>& segments, uint8_t list_id = 1,
                                    uint8_t list_id_usage = 0) {
  std::vector<uint8_t> out(16, 0);
  out[0] = list_id;
  out[1] = static_cast<uint8_t>(list_id_usage << 3);
  size_t target_bytes = 0;
  size_t segment_bytes = 0;
  for (const auto& t : targets) {
    out.insert(out.end(), t.begin(), t.end());
    target_bytes += t.size();
  }
  for (const auto& s : segments) {
    out.insert(out.end(), s.begin(), s.end());
    segment_bytes += s.size();
  }
  store_be16(out.data() + 2, static_cast<uint16_t>(target_bytes));
  store_be32(out.data() + 8, static_cast<uint32_t>(segment_bytes));
  return out;
}

std::vector<uint8_t> extended_copy_cdb(size_t parameter_list_length) {
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x83;
  store_be32(cdb.data() + 10, static_cast<uint32_t>(parameter_list_length));
  return cdb;
}

std::vector<uint8_t> receive_copy_results_cdb(uint8_t service_action, uint8_t list_id) {
  std::vector<uint8_t> cdb(16, 0);
  cdb[0] = 0x84;
  cdb[1] = service_action;
  cdb[2] = list_id;
  store_be32(cdb.data() + 10, 1024);
  return cdb;
}

// LUN 0 (the fixture's) and LUN 1 on their own devices, LUN 2 write protected.
struct CopyFixture : TargetFixture {
  CopyFixture() : TargetFixture(8192) {
    second_device = std::make_shared<testing::FakeBlockDevice>(8192 * 512);
    second = add(1, second_device, false);
    read_only_device = std::make_shared<testing::FakeBlockDevice>(2048 * 512);
    read_only = add(2, read_only_device, true);
    nexus = target.attach(testing::make_nexus("iqn.a"));
    for (uint64_t lun = 0; lun < 3; ++lun) run(*nexus, {0x00, 0, 0, 0, 0, 0}, {}, lun);
    for (size_t i = 0; i < device->bytes().size(); ++i) device->bytes()[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  }

  std::shared_ptr<LogicalUnit> add(uint64_t lun, std::shared_ptr<testing::FakeBlockDevice> dev, bool protect) {
    LogicalUnitConfig config;
    config.name = "test lun " + std::to_string(lun);
    config.identity_seed = "iqn.2026-11.io.portico:test/lun/" + std::to_string(lun);
    config.read_only = protect;
    auto created = *LogicalUnit::create(config, std::move(dev), cluster);
    target.add_lun(lun, created);
    return created;
  }

  Run copy(const std::vector<uint8_t>& list, uint64_t lun = 0) {
    return run(*nexus, extended_copy_cdb(list.size()), list, lun);
  }
  uint64_t naa(const std::shared_ptr<LogicalUnit>& u) const { return u->identity().naa; }

  std::shared_ptr<testing::FakeBlockDevice> second_device;
  std::shared_ptr<LogicalUnit> second;
  std::shared_ptr<testing::FakeBlockDevice> read_only_device;
  std::shared_ptr<LogicalUnit> read_only;
  std::shared_ptr<NexusState> nexus;
};

bool same_bytes(testing::FakeBlockDevice& a, uint64_t a_offset, testing::FakeBlockDevice& b, uint64_t b_offset,
                uint64_t length) {
  return std::equal(a.bytes().begin() + static_cast<std::ptrdiff_t>(a_offset),
                    a.bytes().begin() + static_cast<std::ptrdiff_t>(a_offset + length),
                    b.bytes().begin() + static_cast<std::ptrdiff_t>(b_offset));
}

TEST(ExtendedCopy, CopiesBlocksWithinOneUnit) {
  CopyFixture f;
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 16, 0, 4000)}));
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  EXPECT_TRUE(same_bytes(*f.device, 0, *f.device, 4000 * 512, 16 * 512));
  EXPECT_FALSE(same_bytes(*f.device, 0, *f.device, 4016 * 512, 512));
}

TEST(ExtendedCopy, CopiesManyChunksToAnotherUnitOfTheTarget) {
  CopyFixture f;
  // 3.5 MiB: several passes through the copy manager's 1 MiB buffer.
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit)), identification_target(f.naa(f.second))},
                                   {block_segment(0, 1, 7168, 100, 512)}));
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  EXPECT_TRUE(same_bytes(*f.device, 100 * 512, *f.second_device, 512 * 512, 7168 * 512));
  EXPECT_EQ(f.second_device->bytes()[512 * 512 - 1], 0);
}

TEST(ExtendedCopy, SeveralSegmentsRunInOrder) {
  CopyFixture f;
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit)), identification_target(f.naa(f.second))},
                                   {block_segment(0, 1, 8, 0, 0), block_segment(1, 0, 8, 0, 6000)}));
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  EXPECT_TRUE(same_bytes(*f.device, 0, *f.device, 6000 * 512, 8 * 512));
}

TEST(ExtendedCopy, ZeroParameterListLengthCopiesNothing) {
  CopyFixture f;
  auto run = f.copy({});
  EXPECT_EQ(run.task->status, ScsiStatus::good);
}

TEST(ExtendedCopy, TruncatedParameterListIsParameterListLengthError) {
  CopyFixture f;
  auto list = parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 1, 0, 1)});
  for (size_t length : {size_t{8}, size_t{16 + 31}, list.size() - 1}) {
    std::vector<uint8_t> truncated(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(length));
    auto run = f.copy(truncated);
    EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x1a, 0x00})) << length;
  }
}

TEST(ExtendedCopy, DescriptorListsLongerThanAdvertisedAreParameterListLengthError) {
  CopyFixture f;
  std::vector<std::vector<uint8_t>> targets(copy_limits::kMaxTargetDescriptors + 1,
                                            identification_target(f.naa(f.unit)));
  std::vector<std::vector<uint8_t>> segments(copy_limits::kMaxSegmentDescriptors + 1, block_segment(0, 0, 1, 0, 1));
  auto run = f.copy(parameter_list(targets, segments));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x1a, 0x00}));
}

TEST(ExtendedCopy, MoreTargetDescriptorsThanAdvertisedAreRefused) {
  CopyFixture f;
  std::vector<std::vector<uint8_t>> targets(copy_limits::kMaxTargetDescriptors + 1,
                                            identification_target(f.naa(f.unit)));
  auto run = f.copy(parameter_list(targets, {block_segment(0, 0, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x06}));
}

TEST(ExtendedCopy, MoreSegmentDescriptorsThanAdvertisedAreRefused) {
  CopyFixture f;
  std::vector<std::vector<uint8_t>> segments(copy_limits::kMaxSegmentDescriptors + 1, block_segment(0, 0, 1, 0, 1));
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit))}, segments));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x08}));
}

TEST(ExtendedCopy, UnsupportedDescriptorTypesAreRefused) {
  CopyFixture f;
  auto fibre_channel = identification_target(f.naa(f.unit));
  fibre_channel[0] = 0xe0;
  auto run = f.copy(parameter_list({fibre_channel}, {block_segment(0, 0, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x07}));

  std::vector<uint8_t> stream_to_stream(20, 0);
  stream_to_stream[0] = 0x03;
  store_be16(stream_to_stream.data() + 2, 16);
  run = f.copy(parameter_list({identification_target(f.naa(f.unit))}, {stream_to_stream}));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x09}));
}

TEST(ExtendedCopy, InvalidFieldsPointIntoTheParameterList) {
  CopyFixture f;
  auto tape = identification_target(f.naa(f.unit));
  tape[1] = 0x01;  // peripheral device type: sequential-access
  auto run = f.copy(parameter_list({tape}, {block_segment(0, 0, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x00}));
  EXPECT_EQ(field_pointer(*run.task), 17);

  auto inline_data = parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 1, 0, 1)});
  store_be32(inline_data.data() + 12, 4);
  inline_data.resize(inline_data.size() + 4);
  run = f.copy(inline_data);
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x26, 0x00}));
  EXPECT_EQ(field_pointer(*run.task), 12);
}

TEST(ExtendedCopy, ObsoleteLuIdTypeIsIgnored) {
  CopyFixture f;
  auto target = identification_target(f.naa(f.unit));
  target[1] = 0x80;  // SPC-4 6.4.5.6: LU ID TYPE is obsolete
  auto run = f.copy(parameter_list({target}, {block_segment(0, 0, 4, 0, 4000)}));
  EXPECT_EQ(run.task->status, ScsiStatus::good);
}

TEST(ExtendedCopy, CopyTargetsThatCannotBeUsedAbortTheCopy) {
  CopyFixture f;
  const Sense not_reachable{0x0a, 0x0d, 0x02};
  // A designator no unit of this target has.
  auto run = f.copy(parameter_list({identification_target(0x6001405deadbeefULL)}, {block_segment(0, 0, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), not_reachable);
  // A segment naming a target descriptor that is not in the list.
  run = f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 1, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), not_reachable);
  // A null copy target cannot be read.
  run = f.copy(parameter_list({identification_target(f.naa(f.unit), 512, true)}, {block_segment(0, 0, 1, 0, 1)}));
  EXPECT_EQ(sense_of(*run.task), not_reachable);
}

TEST(ExtendedCopy, RangeBeyondTheDestinationAbortsTheCopyBeforeWriting) {
  CopyFixture f;
  const auto before = f.device->bytes();
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 16, 0, 8190)}));
  EXPECT_EQ(sense_of(*run.task).key, 0x0a);
  EXPECT_EQ(f.device->bytes(), before);
}

TEST(ExtendedCopy, WriteProtectedDestinationIsRefused) {
  CopyFixture f;
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit)), identification_target(f.naa(f.read_only))},
                                   {block_segment(0, 1, 8, 0, 0)}));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x07, 0x27, 0x00}));
  EXPECT_EQ(f.read_only_device->bytes()[0], 0);
  // Reading from it is allowed.
  run = f.copy(parameter_list({identification_target(f.naa(f.read_only)), identification_target(f.naa(f.unit))},
                              {block_segment(0, 1, 8, 0, 0)}));
  EXPECT_EQ(run.task->status, ScsiStatus::good);
}

TEST(ExtendedCopy, DestinationReservedByAnotherNexusIsAConflict) {
  CopyFixture f;
  auto other = f.target.attach(testing::make_nexus("iqn.b"));
  f.run(*other, {0x00, 0, 0, 0, 0, 0}, {}, 1);
  auto reserve = f.run(*other, {0x16, 0, 0, 0, 0, 0}, {}, 1);  // RESERVE (6) of LUN 1
  ASSERT_EQ(reserve.task->status, ScsiStatus::good);
  auto run = f.copy(parameter_list({identification_target(f.naa(f.unit)), identification_target(f.naa(f.second))},
                                   {block_segment(0, 1, 8, 0, 0)}));
  EXPECT_EQ(run.task->status, ScsiStatus::reservation_conflict);
  EXPECT_EQ(f.second_device->bytes()[0], 0);
}

TEST(ReceiveCopyResults, OperatingParametersAdvertiseTheLimits) {
  CopyFixture f;
  auto run = f.run(*f.nexus, receive_copy_results_cdb(0x03, 0));
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  const uint8_t* d = run.task->data_in.data();
  ASSERT_GE(run.task->data_in_length, 46u);
  EXPECT_EQ(load_be32(d), run.task->data_in_length - 4);
  EXPECT_EQ(load_be16(d + 8), copy_limits::kMaxTargetDescriptors);
  EXPECT_EQ(load_be16(d + 10), copy_limits::kMaxSegmentDescriptors);
  EXPECT_EQ(load_be32(d + 12), copy_limits::kMaxDescriptorListLength);
  EXPECT_EQ(load_be32(d + 16), copy_limits::kMaxSegmentBytes);
  EXPECT_EQ(load_be32(d + 20), 0u);  // no inline data
  EXPECT_EQ(d[43], 2);
  EXPECT_EQ(d[44], 0x02);
  EXPECT_EQ(d[45], 0xe4);
}

TEST(ReceiveCopyResults, CopyStatusOfAnUnknownListIsAnInvalidField) {
  CopyFixture f;
  auto run = f.run(*f.nexus, receive_copy_results_cdb(0x00, 7));
  EXPECT_EQ(sense_of(*run.task), (Sense{0x05, 0x24, 0x00}));
}

TEST(ReceiveCopyResults, CopyStatusReportsACompletedCopy) {
  CopyFixture f;
  ASSERT_EQ(f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 16, 0, 4000)}, 5))
                .task->status,
            ScsiStatus::good);
  auto run = f.run(*f.nexus, receive_copy_results_cdb(0x00, 5));
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  ASSERT_EQ(run.task->data_in_length, 12u);
  const uint8_t* d = run.task->data_in.data();
  EXPECT_EQ(load_be32(d), 8u);
  EXPECT_EQ(d[4], 0x01);  // completed without errors
  EXPECT_EQ(load_be16(d + 5), 1);
  EXPECT_EQ(d[7], 0);  // bytes
  EXPECT_EQ(load_be32(d + 8), 16u * 512);
  // Another nexus has no copy with that list identifier.
  auto other = f.target.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*other);
  EXPECT_EQ(sense_of(*f.run(*other, receive_copy_results_cdb(0x00, 5)).task), (Sense{0x05, 0x24, 0x00}));
  // RECEIVE DATA: a block -> block copy holds none.
  auto data = f.run(*f.nexus, receive_copy_results_cdb(0x01, 5));
  ASSERT_EQ(data.task->status, ScsiStatus::good);
  EXPECT_EQ(data.task->data_in_length, 4u);
  // No list identifier kept with LIST ID USAGE 11b.
  ASSERT_EQ(f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 0, 1, 0, 1)}, 0, 3))
                .task->status,
            ScsiStatus::good);
  EXPECT_EQ(sense_of(*f.run(*f.nexus, receive_copy_results_cdb(0x00, 0)).task), (Sense{0x05, 0x24, 0x00}));
}

TEST(ReceiveCopyResults, FailedSegmentDetailsCarryTheSenseOfAFailedCopy) {
  CopyFixture f;
  auto failed = f.copy(parameter_list({identification_target(f.naa(f.unit))}, {block_segment(0, 1, 1, 0, 1)}, 9));
  ASSERT_EQ(failed.task->status, ScsiStatus::check_condition);
  auto status = f.run(*f.nexus, receive_copy_results_cdb(0x00, 9));
  ASSERT_EQ(status.task->status, ScsiStatus::good);
  EXPECT_EQ(status.task->data_in.data()[4], 0x02);  // completed with errors
  auto details = f.run(*f.nexus, receive_copy_results_cdb(0x04, 9));
  ASSERT_EQ(details.task->status, ScsiStatus::good);
  const uint8_t* d = details.task->data_in.data();
  ASSERT_GE(details.task->data_in_length, 60u + 18u);
  EXPECT_EQ(d[56], 0x02);  // CHECK CONDITION
  EXPECT_EQ(load_be16(d + 58), 18);
  EXPECT_EQ(d[60 + 2] & 0x0f, 0x0a);  // COPY ABORTED
  EXPECT_EQ(d[60 + 12], 0x0d);
}

TEST(ThirdPartyCopy, InquiryAdvertisesTheCopyManager) {
  CopyFixture f;
  auto standard = f.run(*f.nexus, {0x12, 0, 0, 0, 96, 0});
  ASSERT_EQ(standard.task->status, ScsiStatus::good);
  EXPECT_NE(standard.task->data_in.data()[5] & 0x08, 0);  // 3PC
  auto pages = f.run(*f.nexus, {0x12, 1, 0x00, 0, 255, 0});
  const uint8_t* p = pages.task->data_in.data();
  EXPECT_NE(std::find(p + 4, p + 4 + p[3], 0x8f), p + 4 + p[3]);
  auto vpd = f.run(*f.nexus, {0x12, 1, 0x8f, 4, 0, 0});
  ASSERT_EQ(vpd.task->status, ScsiStatus::good);
  const uint8_t* v = vpd.task->data_in.data();
  EXPECT_EQ(v[1], 0x8f);
  EXPECT_EQ(load_be16(v + 2) + 4u, vpd.task->data_in_length);
  std::vector<uint16_t> types;
  for (size_t at = 4; at + 4 <= vpd.task->data_in_length; at += 4u + load_be16(v + at + 2)) {
    types.push_back(load_be16(v + at));
    EXPECT_EQ(load_be16(v + at + 2) % 4, 0);
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{0x0001, 0x0004, 0x0008, 0x000c, 0x8001}));
  // Supported Commands: EXTENDED COPY (LID1) and the RECEIVE COPY RESULTS actions.
  EXPECT_EQ(v[9], 0x83);
  EXPECT_EQ(v[10], 1);
  EXPECT_EQ(v[12], 0x84);
  EXPECT_EQ(v[13], 4);
}

TEST(ThirdPartyCopy, ReportSupportedOperationCodesDescribesTheCdbs) {
  CopyFixture f;
  // MAINTENANCE IN / REPORT SUPPORTED OPERATION CODES, one command with its service action.
  auto run = f.run(*f.nexus, {0xa3, 0x0c, 0x02, 0x83, 0x00, 0x00, 0, 0, 1, 0, 0, 0});
  ASSERT_EQ(run.task->status, ScsiStatus::good);
  const uint8_t* d = run.task->data_in.data();
  EXPECT_EQ(d[1] & 0x07, 0x03);
  ASSERT_EQ(load_be16(d + 2), 16);
  const std::vector<uint8_t> usage(d + 4, d + 20);
  EXPECT_EQ(usage, (std::vector<uint8_t>{0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}));
  auto status = f.run(*f.nexus, {0xa3, 0x0c, 0x02, 0x84, 0x00, 0x00, 0, 0, 1, 0, 0, 0});
  ASSERT_EQ(status.task->status, ScsiStatus::good);
  EXPECT_EQ(status.task->data_in.data()[4 + 2], 0xff);  // LIST IDENTIFIER
}

}  // namespace
}  // namespace portico::scsi
