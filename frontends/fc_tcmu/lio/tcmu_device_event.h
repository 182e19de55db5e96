// The device events of the TCM-USER generic netlink family, decoded from the kernel's attributes.
// target_core_user.c (tcmu_netlink_event_init) puts TCMU_ATTR_DEVICE (the uio name),
// TCMU_ATTR_MINOR and TCMU_ATTR_DEVICE_ID on every event; a reconfigure event adds exactly one of
// TCMU_ATTR_DEV_CFG, TCMU_ATTR_DEV_SIZE or TCMU_ATTR_WRITECACHE (tcmu_send_dev_config_event,
// tcmu_send_dev_size_event, tcmu_send_emulate_write_cache).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/common/result.h"

struct nlattr;
struct nlmsghdr;

namespace portico::tcmu {

struct TcmuDeviceEvent {
  enum class Kind { added, removed, reconfigured };
  Kind kind = Kind::added;
  uint32_t minor = 0;                     // TCMU_ATTR_MINOR: the uio minor (/dev/uio<minor>)
  uint32_t device_id = 0;                 // TCMU_ATTR_DEVICE_ID, echoed in the reply
  std::string device;                     // TCMU_ATTR_DEVICE: the uio name "tcm-user/..."
  std::optional<std::string> dev_config;  // reconfigure: TCMU_ATTR_DEV_CFG
  std::optional<uint64_t> dev_size;       // reconfigure: TCMU_ATTR_DEV_SIZE
  std::optional<bool> write_cache;        // reconfigure: TCMU_ATTR_WRITECACHE
};

const char* to_string(TcmuDeviceEvent::Kind kind);

// The TCMU_CMD_*_DONE command that answers the event command `event_cmd`
// (target_core_user.c, tcmu_genl_cmd_done checks that the two match).
std::optional<uint8_t> done_command_for(uint8_t event_cmd);

// Decodes the attributes of one TCM-USER message whose generic netlink command is `cmd`.
// `attrs` is indexed by TCMU_ATTR_* up to TCMU_ATTR_MAX (as genlmsg_parse fills it); lengths are
// checked here too, so the function is safe on attributes parsed without a policy.
Result<TcmuDeviceEvent> decode_device_event(uint8_t cmd, const nlattr* const* attrs);

// Parses a whole TCM-USER message (netlink header, generic netlink header, attributes) and decodes
// it. The message must lie in memory covering nlh->nlmsg_len bytes.
Result<TcmuDeviceEvent> parse_device_event(nlmsghdr* nlh);

// The TCMU_ATTR_DEVICE_ID of a message that does not decode as an event, when it has one: such an
// event is still answered (with -EINVAL), or the configfs write that caused it would wait forever.
std::optional<uint32_t> device_id_of(nlmsghdr* nlh);

}  // namespace portico::tcmu
