// A unit reaches its initiators through attachments, whatever command set made them: a SCSI
// nexus sees a notice as a unit attention on the LUN it uses, another command set (here a
// recording one, as an NVMe controller would be) gets the notice itself.
#include <gtest/gtest.h>

#include <mutex>

#include "core/attachment.h"
#include "core/reservations/reservation_engine.h"
#include "core/scsi/task_management.h"
#include "tests/unit/core/test_fixtures.h"

namespace portico {
namespace {

class RecordingAttachment final : public Attachment {
 public:
  explicit RecordingAttachment(Initiator who) : who_(std::move(who)) {}
  [[nodiscard]] const Initiator& initiator() const override { return who_; }
  void notify(Notice notice) override {
    std::lock_guard lock(mutex_);
    seen_.push_back(notice);
  }
  std::vector<Notice> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  Initiator who_;
  std::mutex mutex_;
  std::vector<Notice> seen_;
};

Initiator nvme_host(const std::string& id) {
  Initiator host;
  host.initiator_port_name = "nvme-host:" + id;
  host.initiator_name = host.initiator_port_name;
  host.target_port_name = "nqn.2026-11.io.portico:test,c,1";
  return host;
}

TEST(Attachment, ScsiPreemptReachesAnotherCommandSetsRegistrant) {
  testing::TargetFixture f;
  auto scsi = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*scsi);
  auto host = std::make_shared<RecordingAttachment>(nvme_host("00aa"));
  f.unit->attach(host);

  // The host registers through its own command set: the same record, stored where every gateway
  // reads it.
  auto stored = f.stored_record();
  ASSERT_TRUE(stored.has_value());
  ReservationRequest reg;
  reg.service_action_key = 0x2;
  reg.all_tg_pt = true;
  ASSERT_TRUE(apply_reservation_request(stored->second, host->initiator(), reg).changed);
  f.cluster.write_reservation(f.unit->cluster_key(), stored->first, serialize(stored->second), false,
                              [](Status s) { ASSERT_TRUE(s.ok()); });

  ASSERT_EQ(f.pr_out(*scsi, 0x00, 0, 0, 0x1).task->status, scsi::ScsiStatus::good);  // REGISTER
  ASSERT_EQ(f.pr_out(*scsi, 0x04, 0, 0x1, 0x2).task->status, scsi::ScsiStatus::good);  // PREEMPT key 2
  EXPECT_EQ(host->seen(), std::vector<Notice>{Notice::registrations_preempted});
  EXPECT_FALSE(f.unit->reservations().is_registered(host->initiator()));
  EXPECT_FALSE(scsi->peek_unit_attention(0).has_value()) << "the preempting nexus learns nothing";
}

TEST(Attachment, LogicalUnitResetTellsEveryAttachment) {
  testing::TargetFixture f;
  auto scsi = f.target.attach(testing::make_nexus("iqn.a"));
  f.clear_ua(*scsi);
  auto host = std::make_shared<RecordingAttachment>(nvme_host("00bb"));
  f.unit->attach(host);
  scsi::TmfResponse response = scsi::TmfResponse::function_rejected;
  f.target.task_management(*scsi, scsi::TmfFunction::logical_unit_reset, 0, 0, f.executor,
                           [&](scsi::TmfResponse r) { response = r; });
  EXPECT_EQ(response, scsi::TmfResponse::function_complete);
  EXPECT_EQ(host->seen(), std::vector<Notice>{Notice::reset_occurred});
  EXPECT_EQ(scsi->peek_unit_attention(0), scsi::asc::kBusDeviceResetOccurred);
}

TEST(Attachment, OneUnitUnderTwoLunNumbersGetsEachItsOwnUnitAttention) {
  testing::TargetFixture f;
  scsi::ScsiTarget other;
  other.add_lun(5, f.unit);  // the same unit, LUN 5 of another target
  auto a = f.target.attach(testing::make_nexus("iqn.a"));
  auto b = other.attach(testing::make_nexus("iqn.b"));
  f.clear_ua(*a);
  ASSERT_TRUE(b->take_unit_attention(5).has_value());  // its power-on condition
  f.unit->notify_all(Notice::capacity_changed);
  EXPECT_EQ(a->peek_unit_attention(0), scsi::asc::kCapacityDataChanged);
  EXPECT_EQ(b->peek_unit_attention(5), scsi::asc::kCapacityDataChanged);
  EXPECT_FALSE(b->peek_unit_attention(0).has_value());

  // A nexus without a connection hears nothing more.
  other.detach(b);
  f.unit->notify_all(Notice::mode_parameters_changed);
  EXPECT_EQ(b->take_unit_attention(5), scsi::asc::kCapacityDataChanged);
  EXPECT_FALSE(b->take_unit_attention(5).has_value());
}

}  // namespace
}  // namespace portico
