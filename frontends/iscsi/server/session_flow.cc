// Session-level rules: the CmdSN window, NOP-Out/NOP-In (with target pings that detect dead
// connections), task management, and Reject.
#include <spdlog/spdlog.h>

#include "core/common/big_endian.h"
#include "frontends/iscsi/server/connection.h"

namespace portico::iscsi {
namespace {

constexpr uint32_t kReservedTag = 0xffffffff;
// Task management functions one connection may have running in the core at once.
constexpr unsigned kMaxTmfsInFlight = 16;

// RFC 1982 serial number arithmetic, as RFC 7143 §4.2.2.1 requires for CmdSN comparisons.
bool serial_lt(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) < 0; }

scsi::TmfFunction to_core_function(uint8_t iscsi_function, bool& known) {
  known = true;
  switch (iscsi_function) {
    case 1: return scsi::TmfFunction::abort_task;
    case 2: return scsi::TmfFunction::abort_task_set;
    case 3: return scsi::TmfFunction::clear_aca;
    case 4: return scsi::TmfFunction::clear_task_set;
    case 5: return scsi::TmfFunction::logical_unit_reset;
    case 6: return scsi::TmfFunction::target_warm_reset;
    case 7: return scsi::TmfFunction::target_cold_reset;
    case 9: return scsi::TmfFunction::query_task;          // RFC 7144 §4.2
    case 10: return scsi::TmfFunction::query_task_set;
    case 11: return scsi::TmfFunction::i_t_nexus_reset;
    case 12: return scsi::TmfFunction::query_async_event;
    default: known = false; return scsi::TmfFunction::abort_task;
  }
}

// RFC 7143 §11.6.1 response codes (and RFC 7144 §4.3 "function succeeded").
uint8_t to_iscsi_response(scsi::TmfResponse response) {
  switch (response) {
    case scsi::TmfResponse::function_complete: return 0;
    case scsi::TmfResponse::task_does_not_exist: return 1;
    case scsi::TmfResponse::lun_does_not_exist: return 2;
    case scsi::TmfResponse::function_not_supported: return 5;
    case scsi::TmfResponse::authorization_failed: return 6;
    case scsi::TmfResponse::function_succeeded: return 7;
    case scsi::TmfResponse::function_rejected: return 255;
  }
  return 255;
}

}  // namespace

Connection::CmdSnCheck Connection::check_cmd_sn(const Bhs& bhs) {
  // Immediate delivery does not advance CmdSN; the callers bound immediate commands.
  if (bhs.immediate) return CmdSnCheck::accept;
  // §4.2.2.1: only the next command, and only inside the window we advertised
  // [ExpCmdSN, MaxCmdSN]; MaxCmdSN = ExpCmdSN - 1 is a closed window.
  if (bhs.cmd_sn == exp_cmd_sn_ && !serial_lt(advertised_max_cmd_sn_, bhs.cmd_sn)) {
    ++exp_cmd_sn_;
    return CmdSnCheck::accept;
  }
  // Outside the window, or ahead of a gap that on one ordered TCP connection can never fill
  // (MaxConnections is 1): §4.2.2.1 says to ignore it.
  spdlog::debug("iscsi: connection {}: ignoring CmdSN {} (ExpCmdSN {}, MaxCmdSN {})", id_, bhs.cmd_sn, exp_cmd_sn_,
                advertised_max_cmd_sn_);
  return CmdSnCheck::drop;
}

uint32_t Connection::max_cmd_sn() {
  const auto limit = context_.settings.max_queued_commands;
  const auto in_use = static_cast<uint32_t>(tasks_.size());
  // Commands waiting for buffer budget hold the window where it is: the initiator learns of
  // room again only once they move (back-pressure instead of memory).
  const uint32_t free_slots = !parked_.empty() ? 0 : limit > in_use ? limit - in_use : 0;
  const uint32_t candidate = exp_cmd_sn_ + free_slots - 1;
  if (serial_lt(advertised_max_cmd_sn_, candidate)) advertised_max_cmd_sn_ = candidate;
  return advertised_max_cmd_sn_;
}

void Connection::advance_window() {
  // Responses carry the new MaxCmdSN; nothing else to do while traffic flows. An initiator
  // that filled the window and is waiting learns of room from the next response it gets.
}

bool Connection::on_nop_out(const Bhs& bhs, std::span<const uint8_t> data) {
  if (bhs.itt == kReservedTag) {
    // §11.18.1: an answer to our NOP-In (or a no-reply ping); must be immediate.
    if (bhs.ttt != kReservedTag && bhs.ttt == nop_ttt_outstanding_) nop_ttt_outstanding_ = kReservedTag;
    return true;
  }
  if (check_cmd_sn(bhs) == CmdSnCheck::drop) return true;
  NopInFields nop;
  nop.lun = bhs.lun_number();
  nop.itt = bhs.itt;
  nop.ttt = kReservedTag;
  nop.stat_sn = stat_sn_++;
  nop.exp_cmd_sn = exp_cmd_sn_;
  nop.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_nop_in(nop, header);
  // §11.19.2: the ping data comes back unchanged (bounded by the initiator's limit).
  const auto echoed = data.first(std::min<size_t>(data.size(), params_.max_recv_data_segment_length_initiator));
  std::vector<uint8_t> echo(echoed.begin(), echoed.end());
  OutPdu pdu = make_pdu(header, echo);
  pdu.owned_bytes = std::move(echo);
  queue_pdu(std::move(pdu));
  return true;
}

void Connection::schedule_nop_in() {
  const auto interval = context_.settings.nop_in_interval;
  if (interval.count() == 0 || phase_ != Phase::full_feature) return;
  nop_timer_ = loop_.schedule_after(std::chrono::duration_cast<std::chrono::milliseconds>(interval),
                                    [this]() { on_nop_timer(); });
}

void Connection::on_nop_timer() {
  nop_timer_ = 0;
  if (phase_ != Phase::full_feature) return;
  const auto now = std::chrono::steady_clock::now();
  if (nop_ttt_outstanding_ != kReservedTag) {
    if (now - nop_sent_at_ >= context_.settings.nop_in_timeout) {
      close("no answer to NOP-In within " + std::to_string(context_.settings.nop_in_timeout.count()) +
            " s: initiator unreachable");
      return;
    }
  } else if (!activity_since_nop_) {
    // §11.19: a target-initiated ping; the initiator must answer with the same TTT.
    uint32_t ttt = next_ttt_++;
    if (ttt == kReservedTag) ttt = next_ttt_++;
    nop_ttt_outstanding_ = ttt;
    nop_sent_at_ = now;
    NopInFields nop;
    nop.itt = kReservedTag;
    nop.ttt = ttt;
    nop.stat_sn = stat_sn_;  // not advanced for an unsolicited NOP-In (§11.19.2)
    nop.exp_cmd_sn = exp_cmd_sn_;
    nop.max_cmd_sn = max_cmd_sn();
    std::array<uint8_t, 48> header{};
    encode_nop_in(nop, header);
    queue_pdu(make_pdu(header, {}));
  }
  activity_since_nop_ = false;
  schedule_nop_in();
}

bool Connection::on_task_management(const Bhs& bhs) {
  if (check_cmd_sn(bhs) == CmdSnCheck::drop) return true;
  const uint8_t function = bhs.raw[1] & 0x7f;
  const uint64_t lun = bhs.lun_number();
  const uint32_t referenced = bhs.referenced_task_tag;
  const uint32_t itt = bhs.itt;
  if (function == 8) {
    send_tmf_response(itt, 4);  // TASK REASSIGN needs ERL 2 (§11.5.1): not supported
    return true;
  }
  bool known = false;
  const auto core_function = to_core_function(function, known);
  if (!known) {
    send_tmf_response(itt, 5);
    return true;
  }
  if (tmfs_in_flight_ >= kMaxTmfsInFlight) {
    // Task management functions (immediate or not) take no place in the CmdSN window; this
    // bounds what one connection can have the core wait on.
    send_tmf_response(itt, 255);  // §11.6.1: function rejected
    return true;
  }
  // Tasks still collecting data-out are the front-end's own: end them here (they never reached
  // the core, so nothing of theirs was written).
  if (core_function == scsi::TmfFunction::abort_task) {
    auto it = tasks_.find(referenced);
    if (it != tasks_.end() && !it->second->submitted) {
      erase_task(it);
      send_tmf_response(itt, 0);
      return true;
    }
  } else if (core_function != scsi::TmfFunction::query_task && core_function != scsi::TmfFunction::query_task_set &&
             core_function != scsi::TmfFunction::query_async_event) {
    const bool whole_target = core_function == scsi::TmfFunction::target_warm_reset ||
                              core_function == scsi::TmfFunction::target_cold_reset ||
                              core_function == scsi::TmfFunction::i_t_nexus_reset;
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      const bool match = !it->second->submitted && (whole_target || it->second->scsi.lun == lun);
      it = match ? erase_task(it) : std::next(it);
    }
  }
  ++tasks_in_core_;
  ++tmfs_in_flight_;
  target_->scsi_target->task_management(
      *nexus_, core_function, lun, referenced, loop_, [this, itt, core_function](scsi::TmfResponse response) {
        --tasks_in_core_;
        --tmfs_in_flight_;
        if (phase_ == Phase::closing) {
          maybe_finish_close();
          return;
        }
        send_tmf_response(itt, to_iscsi_response(response));
        // §11.5.1: TARGET COLD RESET also ends the connection once answered.
        if (core_function == scsi::TmfFunction::target_cold_reset) phase_ = Phase::logging_out;
      });
  return true;
}

void Connection::send_tmf_response(uint32_t itt, uint8_t response) {
  TmfResponseFields rsp;
  rsp.itt = itt;
  rsp.response = response;
  rsp.stat_sn = stat_sn_++;
  rsp.exp_cmd_sn = exp_cmd_sn_;
  rsp.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_tmf_response(rsp, header);
  queue_pdu(make_pdu(header, {}));
}

void Connection::send_reject(uint8_t reason, std::span<const uint8_t, 48> offending_header) {
  RejectFields rej;
  rej.reason = reason;
  rej.stat_sn = stat_sn_++;
  rej.exp_cmd_sn = exp_cmd_sn_;
  rej.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  encode_reject(rej, header);
  // §11.17: the data segment is the complete header of the rejected PDU.
  std::vector<uint8_t> copy(offending_header.begin(), offending_header.end());
  OutPdu pdu = make_pdu(header, copy);
  pdu.owned_bytes = std::move(copy);
  queue_pdu(std::move(pdu));
}

}  // namespace portico::iscsi
