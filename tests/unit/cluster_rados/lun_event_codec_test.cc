#include "cluster/rados/lun_event_codec.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <utility>

namespace portico::cluster::rados {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};  // NOLINT
}

LunEvent preempt_and_abort() {
  LunEvent event;
  event.kind = LunEvent::Kind::reservation_changed;
  event.origin_nexus = "iqn.1993-08.org.debian:01:a,i,0x23d000000001,iqn.2026-11.io.portico:t,t,0x1";
  event.notices.push_back({{"iqn.1993-08.org.debian:01:b", ""}, Notice::reservations_preempted});
  event.notices.push_back({{"iqn.1993-08.org.debian:01:c", "iqn.2026-11.io.portico:t,t,0x2"},
                           Notice::registrations_preempted});
  event.abort_tasks_of.push_back({"iqn.1993-08.org.debian:01:b", ""});
  return event;
}

void expect_equal(const LunEvent& a, const LunEvent& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.origin_nexus, b.origin_nexus);
  EXPECT_EQ(a.notice, b.notice);
  ASSERT_EQ(a.notices.size(), b.notices.size());
  for (size_t i = 0; i < a.notices.size(); ++i) {
    EXPECT_EQ(a.notices[i].initiator, b.notices[i].initiator);
    EXPECT_EQ(a.notices[i].notice, b.notices[i].notice);
  }
  ASSERT_EQ(a.abort_tasks_of.size(), b.abort_tasks_of.size());
  for (size_t i = 0; i < a.abort_tasks_of.size(); ++i) {
    EXPECT_EQ(a.abort_tasks_of[i].initiator, b.abort_tasks_of[i].initiator);
    EXPECT_EQ(a.abort_tasks_of[i].target_port, b.abort_tasks_of[i].target_port);
  }
}

TEST(LunEventCodec, RoundTripsEveryPublishedKind) {
  for (auto kind : {LunEvent::Kind::logical_unit_reset, LunEvent::Kind::notice,
                    LunEvent::Kind::capacity_changed, LunEvent::Kind::access_state_changed,
                    LunEvent::Kind::reservation_changed, LunEvent::Kind::clear_task_set}) {
    LunEvent event = preempt_and_abort();
    event.kind = kind;
    event.notice = Notice::reset_occurred;
    auto bytes = encode_lun_event(event);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    auto decoded = decode_lun_event(as_bytes(*bytes));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    expect_equal(event, *decoded);
  }
}

TEST(LunEventCodec, EncodingStartsWithMagicAndVersion) {
  auto bytes = encode_lun_event(LunEvent{});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 5), std::string("PLEV\x01", 5));
}

TEST(LunEventCodec, LocalOnlyKindsAreNeverEncoded) {
  for (auto kind : {LunEvent::Kind::state_unknown, LunEvent::Kind::state_current}) {
    LunEvent event;
    event.kind = kind;
    EXPECT_EQ(encode_lun_event(event).status().code(), ErrorCode::invalid_argument);
  }
}

TEST(LunEventCodec, ReservedKindCodesAreRejectedOnDecode) {
  for (char code : {'\x06', '\x07'}) {  // never assigned: the local-only kinds' enum values
    auto bytes = *encode_lun_event(LunEvent{});
    bytes[5] = code;
    auto decoded = decode_lun_event(as_bytes(bytes));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), ErrorCode::invalid_argument);
    EXPECT_NE(decoded.status().message().find("not a published event"), std::string::npos);
  }
}

TEST(LunEventCodec, EveryTruncationIsRejected) {
  const auto bytes = *encode_lun_event(preempt_and_abort());
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto decoded = decode_lun_event(as_bytes(bytes.substr(0, length)));
    EXPECT_FALSE(decoded.ok()) << "length " << length;
  }
}

TEST(LunEventCodec, TrailingBytesAreRejected) {
  auto decoded = decode_lun_event(as_bytes(*encode_lun_event(preempt_and_abort()) + "x"));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("trailing"), std::string::npos);
}

TEST(LunEventCodec, NewerVersionIsRefusedAsUnsupportedNamingBothVersions) {
  auto bytes = *encode_lun_event(LunEvent{});
  bytes[4] = 2;
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::unsupported);
  EXPECT_NE(decoded.status().message().find("format version 2"), std::string::npos) << decoded.status().message();
  EXPECT_NE(decoded.status().message().find("up to version 1"), std::string::npos) << decoded.status().message();
}

// What a release that adds a kind in format version 2 (an NVMe front-end's, say) would send:
// this release refuses it by its version, before looking at the kind or at fields it may not know.
TEST(LunEventCodec, AKindOfANewerVersionIsRefusedByTheVersionWhateverFollows) {
  std::string bytes("PLEV\x02\x09\x00\x00", 8);
  bytes += "fields this release does not know";
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::unsupported);
  EXPECT_NE(decoded.status().message().find("format version 2"), std::string::npos) << decoded.status().message();
}

TEST(LunEventCodec, UnknownKindIsRefusedAsUnsupportedNamingIt) {
  auto bytes = *encode_lun_event(LunEvent{});
  bytes[5] = 0x40;
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::unsupported);
  EXPECT_NE(decoded.status().message().find("kind 64"), std::string::npos) << decoded.status().message();
  EXPECT_NE(decoded.status().message().find("unknown to this gateway"), std::string::npos)
      << decoded.status().message();
}

TEST(LunEventCodec, VersionZeroIsMalformed) {
  auto bytes = *encode_lun_event(LunEvent{});
  bytes[4] = 0;
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::invalid_argument);
}

// Wire codes are the protocol, not LunEvent::Kind's order: a kind added to the enum anywhere
// must not renumber what older gateways read.
TEST(LunEventCodec, WireCodesAndVersionsOfVersion1KindsNeverChange) {
  const std::pair<LunEvent::Kind, uint8_t> pinned[] = {
      {LunEvent::Kind::logical_unit_reset, 0},  {LunEvent::Kind::notice, 1},
      {LunEvent::Kind::capacity_changed, 2},    {LunEvent::Kind::access_state_changed, 3},
      {LunEvent::Kind::reservation_changed, 4}, {LunEvent::Kind::clear_task_set, 5},
  };
  for (const auto& [kind, code] : pinned) {
    auto wire = wire_kind_of(kind);
    ASSERT_TRUE(wire.has_value());
    EXPECT_EQ(wire->code, code);
    EXPECT_EQ(wire->since_version, 1);
    LunEvent event;
    event.kind = kind;
    auto bytes = *encode_lun_event(event);
    EXPECT_EQ(static_cast<uint8_t>(bytes[4]), 1) << "an event of a version 1 kind is sent as version 1";
    EXPECT_EQ(static_cast<uint8_t>(bytes[5]), code);
  }
  EXPECT_FALSE(wire_kind_of(LunEvent::Kind::state_unknown).has_value());
  EXPECT_FALSE(wire_kind_of(LunEvent::Kind::state_current).has_value());
}

// The version 1 encoding, byte for byte: gateways of the first release read exactly this.
TEST(LunEventCodec, Version1EncodingIsFrozen) {
  LunEvent event;
  event.kind = LunEvent::Kind::reservation_changed;
  event.origin_nexus = "o";
  event.notice = Notice::reservations_preempted;
  event.notices.push_back({{"i", "t"}, Notice::registrations_preempted});
  event.abort_tasks_of.push_back({"i", ""});
  const std::string expected("PLEV\x01\x04\x2a\x03"
                             "\x00\x01o"
                             "\x00\x01"
                             "\x00\x01i\x00\x01t\x2a\x05"
                             "\x00\x01"
                             "\x00\x01i\x00\x00",
                             28);
  auto bytes = encode_lun_event(event);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, expected);
  auto decoded = decode_lun_event(as_bytes(expected));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  expect_equal(event, *decoded);
}

// Notice codes are the protocol too; version 1's are the bytes the first release sent for the
// same conditions (the frozen encoding above relies on it).
TEST(LunEventCodec, NoticeWireCodesNeverChange) {
  const std::pair<Notice, uint16_t> pinned[] = {
      {Notice::reset_occurred, 0x2903},          {Notice::commands_cleared_by_another_initiator, 0x2f00},
      {Notice::registrations_preempted, 0x2a05}, {Notice::reservations_preempted, 0x2a03},
      {Notice::reservations_released, 0x2a04},   {Notice::mode_parameters_changed, 0x2a01},
      {Notice::capacity_changed, 0x2a09},        {Notice::access_state_changed, 0x2a06},
  };
  for (const auto& [notice, code] : pinned) {
    SCOPED_TRACE(notice_name(notice));
    LunEvent event;
    event.kind = LunEvent::Kind::notice;
    event.notice = notice;
    auto bytes = *encode_lun_event(event);
    EXPECT_EQ(static_cast<uint8_t>(bytes[4]), 1);
    EXPECT_EQ(static_cast<uint8_t>(bytes[6]), code >> 8);
    EXPECT_EQ(static_cast<uint8_t>(bytes[7]), code & 0xff);
    auto decoded = decode_lun_event(as_bytes(bytes));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->notice, notice);
  }
}

// A notice a gateway does not know is refused as unsupported (the gateway then stops serving
// until it re-read the state), never applied without it; so is one addressed to an initiator.
TEST(LunEventCodec, UnknownNoticeIsRefusedAsUnsupported) {
  LunEvent event;
  event.kind = LunEvent::Kind::notice;
  event.notice = Notice::capacity_changed;
  auto bytes = *encode_lun_event(event);
  bytes[6] = 0x7f;
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::unsupported);
  EXPECT_NE(decoded.status().message().find("notice code 7f09"), std::string::npos) << decoded.status().message();

  LunEvent addressed = preempt_and_abort();
  auto list = *encode_lun_event(addressed);
  const auto at = list.find(std::string("\x2a\x03", 2));
  ASSERT_NE(at, std::string::npos);
  list[at] = 0x7e;
  decoded = decode_lun_event(as_bytes(list));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::unsupported);
  // "No notice" is only allowed where the notice is optional: elsewhere it is malformed.
  list[at] = 0;
  list[at + 1] = 0;
  EXPECT_EQ(decode_lun_event(as_bytes(list)).status().code(), ErrorCode::invalid_argument);
}

TEST(LunEventCodec, WrongMagicIsRejected) {
  EXPECT_FALSE(decode_lun_event(as_bytes("garbage that is no event")).ok());
  EXPECT_FALSE(decode_lun_event({}).ok());
}

TEST(LunEventCodec, OversizedStringIsRejectedBothWays) {
  LunEvent event;
  event.origin_nexus.assign(kMaxStringBytes + 1, 'x');
  EXPECT_EQ(encode_lun_event(event).status().code(), ErrorCode::out_of_range);
  // Hand-made: a length field beyond the limit.
  std::string bytes("PLEV\x01\x01\x00\x00", 8);
  bytes += static_cast<char>(0xff);
  bytes += static_cast<char>(0xff);
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("longer than the limit"), std::string::npos);
}

TEST(LunEventCodec, ListCountBeyondTheLimitIsRejectedBeforeReading) {
  std::string bytes("PLEV\x01\x04\x00\x00\x00\x00", 10);  // empty origin
  bytes += static_cast<char>(0xff);                       // 65535 unit attentions
  bytes += static_cast<char>(0xff);
  auto decoded = decode_lun_event(as_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("beyond the limit"), std::string::npos);
}

}  // namespace
}  // namespace portico::cluster::rados
