// The generic 64-byte SQE and its SGL descriptor (layout: Linux's struct nvme_common_command,
// nvme_sgl_desc, nvme_keyed_sgl_desc).
#include <gtest/gtest.h>

#include "core/nvme/sqe.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::SqeBytes;

TEST(Sqe, DecodesAnIoReadWithATransportSglDescriptor) {
  // Read (02h), CID 0xBEEF, NSID 1, SLBA 0x123456789A, NLB 7 (8 blocks, 0's based), the data
  // announced by a Transport SGL Data Block descriptor of 4096 bytes: what Linux's NVMe/TCP host
  // sends for a read.
  SqeBytes s;
  s.u8(0, 0x02).u8(1, 0x40).u16(2, 0xbeef).u32(4, 1);
  s.u64(24, 0).u32(32, 4096).u8(39, 0x5a);
  s.u64(40, 0x123456789a).u16(48, 7).u16(50, 0x4000);  // CDW12 bit 30: FUA
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_EQ(sqe->opcode, 0x02);
  EXPECT_EQ(sqe->fuse, FusedOperation::normal);
  EXPECT_EQ(sqe->psdt, DataPointerType::sgl_metadata_buffer);
  EXPECT_EQ(sqe->cid, 0xbeef);
  EXPECT_EQ(sqe->nsid, 1u);
  EXPECT_FALSE(sqe->is_fabrics());
  EXPECT_EQ(sqe->sgl.identifier, kSglTransportData);
  EXPECT_EQ(sqe->sgl.type(), SglType::transport_data_block);
  EXPECT_EQ(sqe->sgl.subtype(), kSglSubtypeTransport);
  EXPECT_EQ(sqe->sgl.length, 4096u);
  EXPECT_EQ(sqe->sgl.address, 0u);
  EXPECT_FALSE(sqe->sgl.keyed());
  EXPECT_EQ(sqe->cdw(10), 0x3456789au);  // SLBA low
  EXPECT_EQ(sqe->cdw(11), 0x12u);        // SLBA high
  EXPECT_EQ(sqe->cdw(12), 0x40000007u);
  EXPECT_EQ(sqe->cdw(15), 0u);
}

TEST(Sqe, DecodesInCapsuleDataAsAnOffsetDescriptor) {
  SqeBytes s;
  s.u8(0, 0x01).u8(1, 0x40).u16(2, 9).u32(4, 1).u64(24, 0).u32(32, 512).u8(39, 0x01);
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_EQ(sqe->sgl.type(), SglType::data_block);
  EXPECT_EQ(sqe->sgl.subtype(), kSglSubtypeOffset);
  EXPECT_EQ(sqe->sgl.identifier, kSglInCapsule);
  EXPECT_EQ(sqe->sgl.length, 512u);
}

TEST(Sqe, KeyedDescriptorHasA24BitLengthAndAKey) {
  SqeBytes s;
  s.u64(24, 0x1122334455667788ull).u8(32, 0x00).u8(33, 0x10).u8(34, 0x02).u32(35, 0xcafef00d).u8(39, 0x40);
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_TRUE(sqe->sgl.keyed());
  EXPECT_EQ(sqe->sgl.address, 0x1122334455667788ull);
  EXPECT_EQ(sqe->sgl.length, 0x021000u);
  EXPECT_EQ(sqe->sgl.key, 0xcafef00du);
}

TEST(Sqe, FuseAndPsdtBitsAndTheOtherDwords) {
  SqeBytes s;
  s.u8(0, 0x05).u8(1, 0x81).u32(8, 0xa1a2a3a4).u32(12, 0xb1b2b3b4).u64(16, 0x0102030405060708ull);
  s.u32(60, 0xdeadbeef);
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_EQ(sqe->fuse, FusedOperation::first);
  EXPECT_EQ(sqe->psdt, DataPointerType::sgl_metadata_segment);
  EXPECT_EQ(sqe->cdw2, 0xa1a2a3a4u);
  EXPECT_EQ(sqe->cdw3, 0xb1b2b3b4u);
  EXPECT_EQ(sqe->mptr, 0x0102030405060708ull);
  EXPECT_EQ(sqe->cdw(15), 0xdeadbeefu);
  s.u8(1, 0x02);
  EXPECT_EQ(decode_sqe(s.bytes)->fuse, FusedOperation::second);
  EXPECT_EQ(decode_sqe(s.bytes)->psdt, DataPointerType::prp);
}

TEST(Sqe, OnlyExactly64BytesDecode) {
  std::vector<uint8_t> short_sqe(63, 0);
  std::vector<uint8_t> long_sqe(65, 0);
  EXPECT_FALSE(decode_sqe(short_sqe).has_value());
  EXPECT_FALSE(decode_sqe(long_sqe).has_value());
  EXPECT_FALSE(decode_sqe({}).has_value());
}

TEST(Sqe, KeepsTheRawBytes) {
  SqeBytes s;
  for (size_t i = 0; i < 64; ++i) s.u8(i, static_cast<uint8_t>(i * 3));
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_TRUE(std::equal(sqe->raw.begin(), sqe->raw.end(), s.bytes.begin()));
}

}  // namespace
}  // namespace portico::nvme
