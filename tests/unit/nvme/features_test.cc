// Set / Get Features values and asynchronous event completions (values: Linux's NVME_FEAT_*,
// NVME_AEN_*, NVME_AER_*, NVME_PR_NOTIFY_BIT_*; nvmet's encodings).
#include <gtest/gtest.h>

#include "core/nvme/async_event.h"
#include "core/nvme/features.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

TEST(Features, IdentifiersAreLinuxs) {
  EXPECT_EQ(static_cast<int>(FeatureId::volatile_write_cache), 0x06);
  EXPECT_EQ(static_cast<int>(FeatureId::number_of_queues), 0x07);
  EXPECT_EQ(static_cast<int>(FeatureId::async_event_configuration), 0x0b);
  EXPECT_EQ(static_cast<int>(FeatureId::keep_alive_timer), 0x0f);
  EXPECT_EQ(static_cast<int>(FeatureId::host_identifier), 0x81);
  EXPECT_EQ(static_cast<int>(FeatureId::reservation_notification_mask), 0x82);
  EXPECT_EQ(static_cast<int>(FeatureId::reservation_persistence), 0x83);
}

TEST(Features, DecodesFidSaveSelectAndValue) {
  test::SqeBytes set;
  set.u8(0, 0x09).u32(40, 0x80000083u).u32(44, 0x1);
  auto r = decode_feature_request(*decode_sqe(set.bytes));
  EXPECT_EQ(r.fid, 0x83);
  EXPECT_TRUE(r.save);
  EXPECT_EQ(r.value, 1u);
  EXPECT_TRUE(persist_through_power_loss(r.value));

  test::SqeBytes get;
  get.u8(0, 0x0a).u32(40, 0x0000030b);
  auto g = decode_feature_request(*decode_sqe(get.bytes));
  EXPECT_EQ(g.fid, 0x0b);
  EXPECT_FALSE(g.save);
  EXPECT_EQ(g.select, FeatureSelect::supported_capabilities);
}

TEST(Features, NumberOfQueuesIsZeroBasedBothWays) {
  auto q = decode_queue_request(0x0003000f);  // 16 submission, 4 completion queues asked
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->submission, 16u);
  EXPECT_EQ(q->completion, 4u);
  EXPECT_EQ(encode_queue_counts({8, 8}), 0x00070007u);  // nvmet: (max_qid - 1) | (max_qid - 1) << 16
  EXPECT_EQ(encode_queue_counts({1, 1}), 0u);
  EXPECT_FALSE(decode_queue_request(0x0000ffff).has_value());
  EXPECT_FALSE(decode_queue_request(0xffff0000).has_value());
}

TEST(Features, EventConfigurationAndMaskBits) {
  EXPECT_EQ(kAecNamespaceAttribute, 0x100u);
  EXPECT_EQ(kAecFirmwareActivation, 0x200u);
  EXPECT_EQ(kAecAnaChange, 0x800u);
  EXPECT_EQ(kAecDiscoveryChange, 0x80000000u);
  EXPECT_EQ(kReservationMaskValid, 0x0eu);  // nvmet: NVMET_PR_NOTIFI_MASK_ALL
  EXPECT_TRUE(extended_host_id(0x1));
  EXPECT_EQ(host_id_size(0x1), 16u);
  EXPECT_EQ(host_id_size(0x0), 8u);
  EXPECT_EQ(encode_reservation_persistence(true), 1u);
  EXPECT_FALSE(persist_through_power_loss(encode_reservation_persistence(false)));
}

TEST(AsyncEvent, Dw0HasTypeInfoAndLogPage) {
  // An ANA change: type 2h, info 03h, log 0Ch.
  const AsyncEvent ana{AsyncEventType::notice, kNoticeAnaChange, LogPageId::ana};
  EXPECT_EQ(encode_async_event(ana), 0x000c0302u);
  EXPECT_EQ(decode_async_event(0x000c0302u), ana);
  // nvmet: NVME_AER_CSS (6), NVME_AEN_RESV_LOG_PAGE_AVALIABLE (0), NVME_LOG_RESERVATION (80h).
  const AsyncEvent reservation{AsyncEventType::io_command_set, kIoReservationLogAvailable,
                               LogPageId::reservation_notification};
  EXPECT_EQ(encode_async_event(reservation), 0x00800006u);
  const AsyncEvent changed{AsyncEventType::notice, kNoticeNamespaceAttributeChanged, LogPageId::changed_namespaces};
  EXPECT_EQ(encode_async_event(changed), 0x00040002u);
  EXPECT_EQ(encode_async_event({AsyncEventType::notice, kNoticeDiscoveryLogChanged, LogPageId::discovery}),
            0x0070f002u);
}

TEST(AsyncEvent, NoticesThatRaiseOne) {
  EXPECT_EQ(async_event_for(Notice::access_state_changed),
            (AsyncEvent{AsyncEventType::notice, kNoticeAnaChange, LogPageId::ana}));
  EXPECT_EQ(async_event_for(Notice::capacity_changed),
            (AsyncEvent{AsyncEventType::notice, kNoticeNamespaceAttributeChanged, LogPageId::changed_namespaces}));
  for (Notice n : {Notice::registrations_preempted, Notice::reservations_preempted, Notice::reservations_released}) {
    auto e = async_event_for(n);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->type, AsyncEventType::io_command_set);
    EXPECT_EQ(e->log_page, LogPageId::reservation_notification);
  }
  EXPECT_FALSE(async_event_for(Notice::reset_occurred).has_value());
  EXPECT_FALSE(async_event_for(Notice::mode_parameters_changed).has_value());
  EXPECT_FALSE(async_event_for(Notice::commands_cleared_by_another_initiator).has_value());
}

}  // namespace
}  // namespace portico::nvme
