// Fabrics commands (opcode 7Fh) and the Connect data (layout: Linux's struct nvmf_connect_command,
// nvmf_property_*_command, nvmf_auth_*_command, nvmf_connect_data).
#include <gtest/gtest.h>

#include <cstring>

#include "core/nvme/fabrics.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::SqeBytes;

FabricsCommand decode_fabrics(const SqeBytes& s) {
  auto sqe = decode_sqe(s.bytes);
  EXPECT_TRUE(sqe.has_value());
  auto cmd = decode_fabrics_command(*sqe);
  EXPECT_TRUE(std::holds_alternative<FabricsCommand>(cmd));
  return std::get<FabricsCommand>(cmd);
}

TEST(Fabrics, DecodesAnAdminQueueConnect) {
  // As Linux's host sends it over TCP: the 1024-byte Connect data in the capsule (offset
  // descriptor), SQSIZE 31 (32 entries), KATO 5000 ms, SQ flow control disabled.
  SqeBytes s;
  s.u8(0, 0x7f).u8(1, 0x40).u16(2, 0x1234).u8(4, 0x01);
  s.u64(24, 0).u32(32, 1024).u8(39, 0x01);
  s.u16(40, 0).u16(42, 0).u16(44, 31).u8(46, 0x04).u32(48, 5000);
  auto sqe = decode_sqe(s.bytes);
  ASSERT_TRUE(sqe.has_value());
  EXPECT_TRUE(sqe->is_fabrics());
  auto cmd = decode_fabrics(s);
  EXPECT_EQ(cmd.type, FabricsType::connect);
  EXPECT_EQ(cmd.cid, 0x1234);
  const auto& connect = std::get<ConnectCommand>(cmd.body);
  EXPECT_EQ(connect.record_format, 0);
  EXPECT_EQ(connect.queue_id, 0);
  EXPECT_EQ(connect.sq_size, 31);
  EXPECT_TRUE(connect.disable_sq_flow_control());
  EXPECT_EQ(connect.keep_alive_ms, 5000u);
  EXPECT_EQ(connect.data.identifier, kSglInCapsule);
  EXPECT_EQ(connect.data.length, 1024u);
}

TEST(Fabrics, DecodesAnIoQueueConnect) {
  SqeBytes s;
  s.u8(0, 0x7f).u8(4, 0x01).u16(42, 3).u16(44, 127);
  const auto cmd = decode_fabrics(s);
  const auto& connect = std::get<ConnectCommand>(cmd.body);
  EXPECT_EQ(connect.queue_id, 3);
  EXPECT_EQ(connect.sq_size, 127);
  EXPECT_FALSE(connect.disable_sq_flow_control());
}

TEST(Fabrics, PropertyGetAndSet) {
  SqeBytes get;
  get.u8(0, 0x7f).u8(4, 0x04).u8(40, 0x01).u32(44, 0x00);  // CAP, 8 bytes
  auto g = decode_fabrics(get);
  EXPECT_EQ(g.type, FabricsType::property_get);
  EXPECT_TRUE(std::get<PropertyGetCommand>(g.body).eight_bytes);
  EXPECT_EQ(std::get<PropertyGetCommand>(g.body).offset, 0u);

  SqeBytes set;
  set.u8(0, 0x7f).u8(4, 0x00).u8(40, 0x00).u32(44, 0x14).u64(48, 0x00460001);  // CC.EN, 4 bytes
  auto st = decode_fabrics(set);
  EXPECT_EQ(st.type, FabricsType::property_set);
  const auto& body = std::get<PropertySetCommand>(st.body);
  EXPECT_FALSE(body.eight_bytes);
  EXPECT_EQ(body.offset, 0x14u);
  EXPECT_EQ(body.value, 0x00460001u);
}

TEST(Fabrics, PropertySizeOtherThanFourOrEightIsInvalidField) {
  SqeBytes s;
  s.u8(0, 0x7f).u8(4, 0x04).u8(40, 0x02);
  auto result = decode_fabrics_command(*decode_sqe(s.bytes));
  ASSERT_TRUE(std::holds_alternative<CompletionStatus>(result));
  EXPECT_EQ(std::get<CompletionStatus>(result), CompletionStatus(GenericStatus::invalid_field).no_retry());
}

TEST(Fabrics, AuthenticationAndDisconnect) {
  SqeBytes send;
  send.u8(0, 0x7f).u8(4, 0x05).u8(41, 0x01).u8(42, 0x01).u8(43, 0xe9).u32(44, 512);
  auto a = decode_fabrics(send);
  EXPECT_EQ(a.type, FabricsType::authentication_send);
  const auto& auth = std::get<AuthenticationCommand>(a.body);
  EXPECT_EQ(auth.security_protocol, 0xe9);
  EXPECT_EQ(auth.spsp0, 0x01);
  EXPECT_EQ(auth.spsp1, 0x01);
  EXPECT_EQ(auth.length, 512u);

  SqeBytes receive;
  receive.u8(0, 0x7f).u8(4, 0x06).u8(43, 0xe9).u32(44, 1024);
  EXPECT_EQ(decode_fabrics(receive).type, FabricsType::authentication_receive);

  SqeBytes disconnect;
  disconnect.u8(0, 0x7f).u8(4, 0x08);
  auto d = decode_fabrics(disconnect);
  EXPECT_EQ(d.type, FabricsType::disconnect);
  EXPECT_EQ(std::get<DisconnectCommand>(d.body).record_format, 0);
}

TEST(Fabrics, UnknownCapsuleTypeIsInvalidOpcode) {
  for (int fctype : {0x02, 0x03, 0x07, 0x09, 0xc0, 0xff}) {
    SqeBytes s;
    s.u8(0, 0x7f).u8(4, static_cast<uint8_t>(fctype));
    auto result = decode_fabrics_command(*decode_sqe(s.bytes));
    ASSERT_TRUE(std::holds_alternative<CompletionStatus>(result)) << fctype;
    EXPECT_EQ(std::get<CompletionStatus>(result), CompletionStatus(GenericStatus::invalid_opcode).no_retry());
  }
}

std::vector<uint8_t> connect_data(const std::string& subnqn, const std::string& hostnqn) {
  std::vector<uint8_t> d(1024, 0);
  for (size_t i = 0; i < 16; ++i) d[i] = static_cast<uint8_t>(0xa0 + i);
  test::put_le(d, 16, 0xffff, 2);
  std::memcpy(d.data() + 256, subnqn.data(), subnqn.size());
  std::memcpy(d.data() + 512, hostnqn.data(), hostnqn.size());
  return d;
}

TEST(ConnectData, DecodesHostIdControllerIdAndNqns) {
  auto d = connect_data("nqn.2026-11.io.portico:rbd", "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba");
  auto result = decode_connect_data(d);
  ASSERT_TRUE(std::holds_alternative<ConnectData>(result));
  const auto& data = std::get<ConnectData>(result);
  EXPECT_EQ(data.host_id[0], 0xa0);
  EXPECT_EQ(data.host_id[15], 0xaf);
  EXPECT_EQ(data.controller_id, kDynamicControllerId);
  EXPECT_EQ(data.subsystem_nqn, "nqn.2026-11.io.portico:rbd");
  EXPECT_EQ(data.host_nqn, "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba");
}

TEST(ConnectData, AnUnterminatedOrEmptyNqnPointsAtItsField) {
  auto unterminated = connect_data(std::string(kNqnMaxLength + 1, 'a'), "nqn.host");
  auto r1 = decode_connect_data(unterminated);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(r1));
  EXPECT_EQ(std::get<ConnectRejection>(r1).status,
            CompletionStatus(CommandSpecificStatus::connect_invalid_parameters).no_retry());
  EXPECT_EQ(std::get<ConnectRejection>(r1).dw0, (1u << 16) | 256u);

  auto empty_host = connect_data("nqn.sub", "");
  auto r2 = decode_connect_data(empty_host);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(r2));
  EXPECT_EQ(std::get<ConnectRejection>(r2).dw0, (1u << 16) | 512u);

  auto longest = connect_data(std::string(kNqnMaxLength, 'b'), "nqn.host");
  EXPECT_TRUE(std::holds_alternative<ConnectData>(decode_connect_data(longest)));
}

TEST(ConnectData, ShortDataIsADataSglLengthError) {
  std::vector<uint8_t> d(1023, 0);
  auto r = decode_connect_data(d);
  ASSERT_TRUE(std::holds_alternative<ConnectRejection>(r));
  EXPECT_EQ(std::get<ConnectRejection>(r).status,
            CompletionStatus(GenericStatus::data_sgl_length_invalid).no_retry());
}

TEST(ConnectResponse, Dw0Encodings) {
  EXPECT_EQ(connect_success_dw0(0x0021), 0x21u);
  // nvmet: IPO_IATTR_CONNECT_SQE(qid) = offsetof(nvmf_connect_command, qid) = 42.
  EXPECT_EQ(connect_invalid_parameter_dw0(false, 42), 42u);
  EXPECT_EQ(connect_invalid_parameter_dw0(true, 16), 0x10010u);
}

}  // namespace
}  // namespace portico::nvme
