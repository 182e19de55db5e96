#include "frontends/fc_tcmu/lio/tcmu_device_event.h"

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <memory>
#include <string>

#include "frontends/fc_tcmu/lio/tcmu_genl_abi.h"

namespace portico::tcmu {
namespace {

using namespace genl;  // NOLINT(google-build-using-namespace)

// The family id is assigned by the kernel at registration; any value works for decoding.
constexpr int kFamilyId = 0x1f;

struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using Message = std::unique_ptr<nl_msg, MsgDeleter>;

// Builds an event the way tcmu_netlink_event_init does: device name, uio minor, device id.
Message kernel_event(uint8_t cmd, bool with_device = true, bool with_minor = true, bool with_id = true) {
  Message msg(nlmsg_alloc());
  genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, kFamilyId, 0, 0, cmd, 2);
  if (with_device) nla_put_string(msg.get(), TCMU_ATTR_DEVICE, "tcm-user/0/disk/portico/vol-1");
  if (with_minor) nla_put_u32(msg.get(), TCMU_ATTR_MINOR, 3);
  if (with_id) nla_put_u32(msg.get(), TCMU_ATTR_DEVICE_ID, 42);
  return msg;
}

Result<TcmuDeviceEvent> parse(const Message& msg) { return parse_device_event(nlmsg_hdr(msg.get())); }

TEST(TcmuDeviceEventTest, Parse_AddedEventCarriesDeviceMinorAndId) {
  auto event = parse(kernel_event(TCMU_CMD_ADDED_DEVICE));

  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->kind, TcmuDeviceEvent::Kind::added);
  EXPECT_EQ(event->device, "tcm-user/0/disk/portico/vol-1");
  EXPECT_EQ(event->minor, 3u);
  EXPECT_EQ(event->device_id, 42u);
  EXPECT_FALSE(event->dev_config || event->dev_size || event->write_cache);
}

TEST(TcmuDeviceEventTest, Parse_RemovedEvent) {
  auto event = parse(kernel_event(TCMU_CMD_REMOVED_DEVICE));

  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->kind, TcmuDeviceEvent::Kind::removed);
  EXPECT_EQ(event->device_id, 42u);
}

TEST(TcmuDeviceEventTest, Parse_ReconfiguredDevConfig) {
  Message msg = kernel_event(TCMU_CMD_RECONFIG_DEVICE);
  nla_put_string(msg.get(), TCMU_ATTR_DEV_CFG, "portico/vol-2");

  auto event = parse(msg);

  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->kind, TcmuDeviceEvent::Kind::reconfigured);
  EXPECT_EQ(event->dev_config, "portico/vol-2");
  EXPECT_FALSE(event->dev_size || event->write_cache);
}

TEST(TcmuDeviceEventTest, Parse_ReconfiguredDevSize) {
  Message msg = kernel_event(TCMU_CMD_RECONFIG_DEVICE);
  nla_put_u64(msg.get(), TCMU_ATTR_DEV_SIZE, 3ull << 30);

  auto event = parse(msg);

  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->dev_size, 3ull << 30);
}

TEST(TcmuDeviceEventTest, Parse_ReconfiguredWriteCache) {
  Message msg = kernel_event(TCMU_CMD_RECONFIG_DEVICE);
  nla_put_u8(msg.get(), TCMU_ATTR_WRITECACHE, 1);

  auto event = parse(msg);

  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->write_cache, true);
}

TEST(TcmuDeviceEventTest, Parse_EventWithoutDeviceIdIsAnErrorThatCannotBeAnswered) {
  Message msg = kernel_event(TCMU_CMD_ADDED_DEVICE, true, true, false);

  auto event = parse(msg);

  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(event.status().message().find("TCMU_ATTR_DEVICE_ID"), std::string::npos) << event.status().message();
  EXPECT_FALSE(device_id_of(nlmsg_hdr(msg.get())));
}

TEST(TcmuDeviceEventTest, Parse_EventWithoutMinorIsAnErrorThatIsStillAnswered) {
  Message msg = kernel_event(TCMU_CMD_REMOVED_DEVICE, true, false, true);

  auto event = parse(msg);

  ASSERT_FALSE(event.ok());
  EXPECT_NE(event.status().message().find("TCMU_ATTR_MINOR"), std::string::npos) << event.status().message();
  EXPECT_EQ(device_id_of(nlmsg_hdr(msg.get())), 42u);
}

TEST(TcmuDeviceEventTest, Parse_EventWithoutDeviceNameIsAnError) {
  auto event = parse(kernel_event(TCMU_CMD_ADDED_DEVICE, false, true, true));

  ASSERT_FALSE(event.ok());
  EXPECT_NE(event.status().message().find("TCMU_ATTR_DEVICE"), std::string::npos) << event.status().message();
}

TEST(TcmuDeviceEventTest, Parse_ReconfigureNamingNothingIsAnError) {
  auto event = parse(kernel_event(TCMU_CMD_RECONFIG_DEVICE));

  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), ErrorCode::invalid_argument);
}

TEST(TcmuDeviceEventTest, Parse_ShortIntegerAttributeIsRejected) {
  Message msg(nlmsg_alloc());
  genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, kFamilyId, 0, 0, TCMU_CMD_ADDED_DEVICE, 2);
  nla_put_string(msg.get(), TCMU_ATTR_DEVICE, "tcm-user/0/disk/portico/vol-1");
  nla_put_u16(msg.get(), TCMU_ATTR_MINOR, 3);
  nla_put_u32(msg.get(), TCMU_ATTR_DEVICE_ID, 42);

  auto event = parse(msg);

  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), ErrorCode::invalid_argument);
}

TEST(TcmuDeviceEventTest, Parse_OtherCommandsAreNotDeviceEvents) {
  Message msg(nlmsg_alloc());
  genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, kFamilyId, 0, 0, TCMU_CMD_SET_FEATURES, 2);
  nla_put_u8(msg.get(), TCMU_ATTR_SUPP_KERN_CMD_REPLY, 1);

  auto event = parse(msg);

  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), ErrorCode::unsupported);
}

TEST(TcmuDeviceEventTest, DoneCommandFor_AnswersEachEventWithItsOwnDoneCommand) {
  EXPECT_EQ(done_command_for(TCMU_CMD_ADDED_DEVICE), TCMU_CMD_ADDED_DEVICE_DONE);
  EXPECT_EQ(done_command_for(TCMU_CMD_REMOVED_DEVICE), TCMU_CMD_REMOVED_DEVICE_DONE);
  EXPECT_EQ(done_command_for(TCMU_CMD_RECONFIG_DEVICE), TCMU_CMD_RECONFIG_DEVICE_DONE);
  EXPECT_FALSE(done_command_for(TCMU_CMD_SET_FEATURES));
}

}  // namespace
}  // namespace portico::tcmu
