#include "frontends/fc_tcmu/lio/tcmu_device_event.h"

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/genl.h>

#include <array>
#include <cstring>

#include "frontends/fc_tcmu/lio/tcmu_genl_abi.h"

namespace portico::tcmu {
namespace {

using namespace genl;  // NOLINT(google-build-using-namespace): the kernel's names, kept verbatim

using AttributeTable = std::array<nlattr*, TCMU_ATTR_MAX + 1>;

// The kernel's own policy for the family (target_core_user.c, tcmu_attr_policy) plus the
// reconfigure attributes it sends but never receives.
const nla_policy* tcmu_policy() {
  static const auto policy = [] {
    std::array<nla_policy, TCMU_ATTR_MAX + 1> p{};
    p[TCMU_ATTR_DEVICE].type = NLA_STRING;
    p[TCMU_ATTR_MINOR].type = NLA_U32;
    p[TCMU_ATTR_DEV_CFG].type = NLA_STRING;
    p[TCMU_ATTR_DEV_SIZE].type = NLA_U64;
    p[TCMU_ATTR_WRITECACHE].type = NLA_U8;
    p[TCMU_ATTR_CMD_STATUS].type = NLA_S32;
    p[TCMU_ATTR_DEVICE_ID].type = NLA_U32;
    p[TCMU_ATTR_SUPP_KERN_CMD_REPLY].type = NLA_U8;
    return p;
  }();
  return policy.data();
}

const char* attribute_name(int attr) {
  switch (attr) {
    case TCMU_ATTR_DEVICE: return "TCMU_ATTR_DEVICE";
    case TCMU_ATTR_MINOR: return "TCMU_ATTR_MINOR";
    case TCMU_ATTR_DEVICE_ID: return "TCMU_ATTR_DEVICE_ID";
    case TCMU_ATTR_DEV_CFG: return "TCMU_ATTR_DEV_CFG";
    case TCMU_ATTR_DEV_SIZE: return "TCMU_ATTR_DEV_SIZE";
    case TCMU_ATTR_WRITECACHE: return "TCMU_ATTR_WRITECACHE";
    default: return "TCMU attribute";
  }
}

Status malformed(const char* event, const std::string& why) {
  return {ErrorCode::invalid_argument, std::string("TCM-USER ") + event + " event: " + why};
}

// nla_len() is the payload length; nla_get_* do not check it.
bool fits(const nlattr* attr, size_t size) { return nla_len(attr) >= 0 && static_cast<size_t>(nla_len(attr)) >= size; }

std::string string_of(const nlattr* attr) {
  const char* data = static_cast<const char*>(nla_data(attr));
  return {data, strnlen(data, static_cast<size_t>(nla_len(attr)))};
}

std::optional<TcmuDeviceEvent::Kind> kind_of(uint8_t cmd) {
  switch (cmd) {
    case TCMU_CMD_ADDED_DEVICE: return TcmuDeviceEvent::Kind::added;
    case TCMU_CMD_REMOVED_DEVICE: return TcmuDeviceEvent::Kind::removed;
    case TCMU_CMD_RECONFIG_DEVICE: return TcmuDeviceEvent::Kind::reconfigured;
    default: return std::nullopt;
  }
}

}  // namespace

const char* to_string(TcmuDeviceEvent::Kind kind) {
  switch (kind) {
    case TcmuDeviceEvent::Kind::added: return "added";
    case TcmuDeviceEvent::Kind::removed: return "removed";
    case TcmuDeviceEvent::Kind::reconfigured: return "reconfigured";
  }
  return "unknown";
}

std::optional<uint8_t> done_command_for(uint8_t event_cmd) {
  switch (event_cmd) {
    case TCMU_CMD_ADDED_DEVICE: return uint8_t{TCMU_CMD_ADDED_DEVICE_DONE};
    case TCMU_CMD_REMOVED_DEVICE: return uint8_t{TCMU_CMD_REMOVED_DEVICE_DONE};
    case TCMU_CMD_RECONFIG_DEVICE: return uint8_t{TCMU_CMD_RECONFIG_DEVICE_DONE};
    default: return std::nullopt;
  }
}

Result<TcmuDeviceEvent> decode_device_event(uint8_t cmd, const nlattr* const* attrs) {
  auto kind = kind_of(cmd);
  if (!kind) {
    return Status{ErrorCode::unsupported, "TCM-USER command " + std::to_string(cmd) + " is not a device event"};
  }
  TcmuDeviceEvent event;
  event.kind = *kind;
  const char* name = to_string(*kind);

  for (int required : {TCMU_ATTR_DEVICE, TCMU_ATTR_MINOR, TCMU_ATTR_DEVICE_ID}) {
    if (attrs[required] == nullptr) return malformed(name, std::string("no ") + attribute_name(required));
  }
  if (!fits(attrs[TCMU_ATTR_MINOR], sizeof(uint32_t)) || !fits(attrs[TCMU_ATTR_DEVICE_ID], sizeof(uint32_t))) {
    return malformed(name, "TCMU_ATTR_MINOR or TCMU_ATTR_DEVICE_ID shorter than 4 bytes");
  }
  event.device = string_of(attrs[TCMU_ATTR_DEVICE]);
  if (event.device.empty()) return malformed(name, "empty TCMU_ATTR_DEVICE");
  event.minor = nla_get_u32(attrs[TCMU_ATTR_MINOR]);
  event.device_id = nla_get_u32(attrs[TCMU_ATTR_DEVICE_ID]);

  if (event.kind != TcmuDeviceEvent::Kind::reconfigured) return event;

  if (const nlattr* cfg = attrs[TCMU_ATTR_DEV_CFG]; cfg != nullptr) event.dev_config = string_of(cfg);
  if (const nlattr* size = attrs[TCMU_ATTR_DEV_SIZE]; size != nullptr) {
    if (!fits(size, sizeof(uint64_t))) return malformed(name, "TCMU_ATTR_DEV_SIZE shorter than 8 bytes");
    event.dev_size = nla_get_u64(size);
  }
  if (const nlattr* cache = attrs[TCMU_ATTR_WRITECACHE]; cache != nullptr) {
    if (!fits(cache, sizeof(uint8_t))) return malformed(name, "empty TCMU_ATTR_WRITECACHE");
    event.write_cache = nla_get_u8(cache) != 0;
  }
  if (!event.dev_config && !event.dev_size && !event.write_cache) {
    return malformed(name, "none of TCMU_ATTR_DEV_CFG, TCMU_ATTR_DEV_SIZE or TCMU_ATTR_WRITECACHE");
  }
  return event;
}

Result<TcmuDeviceEvent> parse_device_event(nlmsghdr* nlh) {
  if (genlmsg_valid_hdr(nlh, 0) == 0) {
    return Status{ErrorCode::invalid_argument, "TCM-USER message too short for a generic netlink header"};
  }
  AttributeTable attrs{};
  if (int err = genlmsg_parse(nlh, 0, attrs.data(), TCMU_ATTR_MAX, tcmu_policy()); err < 0) {
    return Status{ErrorCode::invalid_argument, std::string("TCM-USER message attributes: ") + nl_geterror(err)};
  }
  return decode_device_event(genlmsg_hdr(nlh)->cmd, attrs.data());
}

std::optional<uint32_t> device_id_of(nlmsghdr* nlh) {
  if (genlmsg_valid_hdr(nlh, 0) == 0) return std::nullopt;
  AttributeTable attrs{};
  if (genlmsg_parse(nlh, 0, attrs.data(), TCMU_ATTR_MAX, nullptr) < 0) return std::nullopt;
  const nlattr* id = attrs[TCMU_ATTR_DEVICE_ID];
  if (id == nullptr || !fits(id, sizeof(uint32_t))) return std::nullopt;
  return nla_get_u32(id);
}

}  // namespace portico::tcmu
