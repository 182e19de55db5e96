#include "cluster/rados/lun_event_codec.h"

#include <cstdio>
#include <cstring>

#include "core/common/big_endian.h"

namespace portico::cluster::rados {
namespace {

constexpr char kMagic[4] = {'P', 'L', 'E', 'V'};

// Every published kind with its wire code and the format version that added it. A code is
// never reused or renumbered; 6 and 7 are reserved (they were the local-only kinds' enum values,
// never published). A new kind takes the next free code and since_version = the new format.
constexpr WireKind kWireKinds[] = {
    {LunEvent::Kind::logical_unit_reset, 0, 1},   {LunEvent::Kind::notice, 1, 1},
    {LunEvent::Kind::capacity_changed, 2, 1},     {LunEvent::Kind::access_state_changed, 3, 1},
    {LunEvent::Kind::reservation_changed, 4, 1},  {LunEvent::Kind::clear_task_set, 5, 1},
};
constexpr uint8_t kReservedCodes[] = {6, 7};

// Every notice with its wire code and the format version that added it; 0 is "no notice". The
// codes are fixed forever and independent of Notice's order. Version 1's codes are the two
// bytes that version 1 carried for the same condition, so gateways of either release read each
// other's events alike.
struct WireNotice {
  Notice notice;
  uint16_t code;
  uint8_t since_version;
};
constexpr WireNotice kWireNotices[] = {
    {Notice::reset_occurred, 0x2903, 1},          {Notice::commands_cleared_by_another_initiator, 0x2f00, 1},
    {Notice::registrations_preempted, 0x2a05, 1}, {Notice::reservations_preempted, 0x2a03, 1},
    {Notice::reservations_released, 0x2a04, 1},   {Notice::mode_parameters_changed, 0x2a01, 1},
    {Notice::capacity_changed, 0x2a09, 1},        {Notice::access_state_changed, 0x2a06, 1},
};

uint16_t notice_code(Notice notice) {
  for (const auto& wire : kWireNotices) {
    if (wire.notice == notice) return wire.code;
  }
  return 0;  // not reached: every notice has a code (lun_event_codec_test checks it)
}

const WireNotice* find_notice(uint16_t code) {
  for (const auto& wire : kWireNotices) {
    if (wire.code == code) return &wire;
  }
  return nullptr;
}

const WireKind* find_code(uint8_t code) {
  for (const auto& wire : kWireKinds) {
    if (wire.code == code) return &wire;
  }
  return nullptr;
}

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) {
    uint8_t b[2];
    store_be16(b, v);
    out_.append(reinterpret_cast<const char*>(b), 2);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  }
  void str(const std::string& s) {
    u16(static_cast<uint16_t>(s.size()));
    out_ += s;
  }
  void raw(const char* p, size_t n) { out_.append(p, n); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool u8(uint8_t& v) {
    if (!need(1)) return false;
    v = bytes_[pos_++];
    return true;
  }
  bool skip(size_t n) {
    if (!need(n)) return false;
    pos_ += n;
    return true;
  }
  bool u16(uint16_t& v) {
    if (!need(2)) return false;
    v = load_be16(bytes_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool str(std::string& s, const char* what) {
    uint16_t length = 0;
    if (!u16(length)) return false;
    if (length > kMaxStringBytes) return fail(std::string(what) + " is longer than the limit");
    if (!need(length)) return false;
    s.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), length);  // NOLINT
    pos_ += length;
    return true;
  }
  bool fail(const std::string& why) {
    if (error_.empty()) error_ = why + " at offset " + std::to_string(pos_);
    return false;
  }
  [[nodiscard]] size_t remaining() const { return bytes_.size() - pos_; }
  [[nodiscard]] const std::string& error_text() const { return error_; }
  [[nodiscard]] size_t position() const { return pos_; }

 private:
  bool need(size_t n) { return remaining() >= n || fail("truncated (" + std::to_string(n) + " bytes needed)"); }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  std::string error_;
};

Status check_string(const std::string& s, const char* what) {
  if (s.size() > kMaxStringBytes) {
    return error(ErrorCode::out_of_range, std::string("lun event: ") + what + " is " + std::to_string(s.size()) +
                                              " bytes (limit " + std::to_string(kMaxStringBytes) + ")");
  }
  return {};
}

bool read_selector(Reader& in, InitiatorSelector& selector) {
  return in.str(selector.initiator, "selector initiator") && in.str(selector.target_port, "selector target port");
}

bool read_count(Reader& in, uint16_t& count, const char* what) {
  if (!in.u16(count)) return false;
  if (count > kMaxListEntries) return in.fail(std::string(what) + " count " + std::to_string(count) + " beyond the limit");
  return true;
}

}  // namespace

std::optional<WireKind> wire_kind_of(LunEvent::Kind kind) {
  for (const auto& wire : kWireKinds) {
    if (wire.kind == kind) return wire;
  }
  return std::nullopt;
}

Result<std::string> encode_lun_event(const LunEvent& event) {
  const auto wire = wire_kind_of(event.kind);
  if (!wire) {
    return error(ErrorCode::invalid_argument, "lun event: kind " + std::to_string(static_cast<int>(event.kind)) +
                                                  " has no wire code: local-only kinds are never published");
  }
  if (event.notices.size() > kMaxListEntries || event.abort_tasks_of.size() > kMaxListEntries) {
    return error(ErrorCode::out_of_range, "lun event: more than " + std::to_string(kMaxListEntries) + " list entries");
  }
  if (auto s = check_string(event.origin_nexus, "origin nexus"); !s.ok()) return s;
  for (const auto& addressed : event.notices) {
    if (auto s = check_string(addressed.initiator.initiator, "initiator"); !s.ok()) return s;
    if (auto s = check_string(addressed.initiator.target_port, "target port"); !s.ok()) return s;
  }
  for (const auto& selector : event.abort_tasks_of) {
    if (auto s = check_string(selector.initiator, "initiator"); !s.ok()) return s;
    if (auto s = check_string(selector.target_port, "target port"); !s.ok()) return s;
  }
  Writer out;
  out.raw(kMagic, sizeof kMagic);
  // The lowest version that carries this event: every field and notice is version 1's, so the
  // kind decides.
  out.u8(wire->since_version);
  out.u8(wire->code);
  out.u16(event.notice ? notice_code(*event.notice) : 0);
  out.str(event.origin_nexus);
  out.u16(static_cast<uint16_t>(event.notices.size()));
  for (const auto& addressed : event.notices) {
    out.str(addressed.initiator.initiator);
    out.str(addressed.initiator.target_port);
    out.u16(notice_code(addressed.notice));
  }
  out.u16(static_cast<uint16_t>(event.abort_tasks_of.size()));
  for (const auto& selector : event.abort_tasks_of) {
    out.str(selector.initiator);
    out.str(selector.target_port);
  }
  std::string bytes = out.take();
  if (bytes.size() > kMaxEncodedBytes) {
    return error(ErrorCode::out_of_range, "lun event: encoding is " + std::to_string(bytes.size()) +
                                              " bytes (limit " + std::to_string(kMaxEncodedBytes) + ")");
  }
  return bytes;
}

Result<LunEvent> decode_lun_event(std::span<const uint8_t> bytes) {
  auto reject = [](const std::string& why) { return error(ErrorCode::invalid_argument, "lun event: " + why); };
  if (bytes.size() > kMaxEncodedBytes) return reject("larger than " + std::to_string(kMaxEncodedBytes) + " bytes");
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return reject("no PLEV magic");
  }
  Reader in(bytes);
  LunEvent event;
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!in.skip(sizeof kMagic) || !in.u8(version)) return reject(in.error_text());
  if (version == 0) return reject("format version 0 does not exist");
  if (version > kLunEventFormatVersion) {
    return error(ErrorCode::unsupported,
                 "lun event: format version " + std::to_string(version) + " is newer than this gateway reads (up to " +
                     "version " + std::to_string(kLunEventFormatVersion) + "): published by a newer release");
  }
  if (!in.u8(kind)) return reject(in.error_text());
  const WireKind* wire = find_code(kind);
  if (wire == nullptr) {
    for (uint8_t reserved : kReservedCodes) {
      if (kind == reserved) return reject("kind " + std::to_string(kind) + " is not a published event (reserved code)");
    }
    return error(ErrorCode::unsupported, "lun event: kind " + std::to_string(kind) + " (format version " +
                                             std::to_string(version) + ") is unknown to this gateway, which reads up "
                                             "to version " + std::to_string(kLunEventFormatVersion));
  }
  if (wire->since_version > version) {
    return reject("kind " + std::to_string(kind) + " needs format version " + std::to_string(wire->since_version) +
                  ", the event says " + std::to_string(version));
  }
  event.kind = wire->kind;
  // A notice this gateway does not know is refused like an unknown kind: applying the event
  // without it would leave its initiators uninformed.
  std::string unknown_notice;
  bool missing_notice = false;
  auto read_notice = [&](bool optional, std::optional<Notice>& notice) {
    uint16_t code = 0;
    if (!in.u16(code)) return false;
    if (code == 0) {
      missing_notice = !optional;
      return optional;
    }
    const WireNotice* known = find_notice(code);
    if (known == nullptr || known->since_version > version) {
      char text[8];
      std::snprintf(text, sizeof text, "%04x", static_cast<unsigned>(code));
      unknown_notice = text;
      return false;
    }
    notice = known->notice;
    return true;
  };
  uint16_t count = 0;
  bool ok = read_notice(true, event.notice) && in.str(event.origin_nexus, "origin nexus") &&
            read_count(in, count, "notice");
  for (uint16_t i = 0; ok && i < count; ++i) {
    LunEvent::Addressed addressed;
    std::optional<Notice> notice;
    ok = read_selector(in, addressed.initiator) && read_notice(false, notice);
    if (ok) {
      addressed.notice = *notice;
      event.notices.push_back(std::move(addressed));
    }
  }
  if (missing_notice) return reject("an addressed notice has no notice code");
  if (!unknown_notice.empty()) {
    return error(ErrorCode::unsupported, "lun event: notice code " + unknown_notice + " (format version " +
                                             std::to_string(version) + ") is unknown to this gateway, which reads "
                                             "up to version " + std::to_string(kLunEventFormatVersion));
  }
  ok = ok && read_count(in, count, "abort selector");
  for (uint16_t i = 0; ok && i < count; ++i) {
    InitiatorSelector selector;
    ok = read_selector(in, selector);
    if (ok) event.abort_tasks_of.push_back(std::move(selector));
  }
  if (!ok) return reject(in.error_text());
  if (in.remaining() != 0) return reject(std::to_string(in.remaining()) + " trailing bytes");
  return event;
}

}  // namespace portico::cluster::rados
