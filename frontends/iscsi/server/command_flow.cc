// SCSI Command, Data-Out, R2T, Data-In and SCSI Response (RFC 7143 §11.2-§11.8).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/common/big_endian.h"
#include "frontends/iscsi/server/connection.h"

namespace portico::iscsi {
namespace {

constexpr uint32_t kReservedTag = 0xffffffff;
// Largest data-out we buffer for one command; larger EDTLs are received and discarded, and the
// core answers the command from the CDB (a READ/WRITE longer than the Block Limits maximum is
// refused there with INVALID FIELD IN CDB).
constexpr uint32_t kMaxDataOutBuffer = 16u << 20;
// Immediate SCSI commands outstanding at once (RFC 7143 §4.2.2.1 asks for at least one).
constexpr unsigned kMaxImmediateCommands = 4;

}  // namespace

bool Connection::on_scsi_command(const Bhs& bhs, std::span<const uint8_t> ahs, std::span<const uint8_t> data) {
  if (draining_) return true;  // no new work while shutting down; the initiator will retry elsewhere
  if (check_cmd_sn(bhs) == CmdSnCheck::drop) return true;
  if (tasks_.count(bhs.itt) != 0 || bhs.itt == kReservedTag) {
    send_reject(kRejectInvalidPduField, bhs.raw);
    return true;
  }
  if (bhs.immediate && immediate_tasks_ >= kMaxImmediateCommands) {
    // §4.2.2.1: immediate commands stand outside the CmdSN window, so they get a bound of their
    // own; beyond it the initiator is told to wait (§11.17.1, reason 06h).
    send_reject(kRejectImmediateCommandReject, bhs.raw);
    return true;
  }
  const auto command = decode_scsi_command(bhs, ahs);
  if (!command.ok()) {
    send_reject(kRejectInvalidPduField, bhs.raw);
    return true;
  }
  auto owned = std::make_unique<IscsiTask>();
  IscsiTask& task = *owned;
  task.itt = bhs.itt;
  task.cmd_sn = bhs.cmd_sn;
  task.immediate = bhs.immediate;
  task.is_read = command->read;
  task.is_write = command->write;
  task.expected_length = command->expected_data_transfer_length;
  task.scsi.tag = bhs.itt;
  task.scsi.lun = bhs.lun_number();
  // RFC 7143 §11.3.1.2: 0 untagged and 1 simple are both SIMPLE to SAM; 2 ordered, 3 head of
  // queue, 4 ACA.
  switch (command->task_attribute) {
    case 2: task.scsi.attribute = scsi::TaskAttribute::ordered; break;
    case 3: task.scsi.attribute = scsi::TaskAttribute::head_of_queue; break;
    case 4: task.scsi.attribute = scsi::TaskAttribute::aca; break;
    default: task.scsi.attribute = scsi::TaskAttribute::simple; break;
  }
  std::copy(command->cdb.begin(), command->cdb.end(), task.scsi.cdb_bytes.begin());
  task.scsi.extended_cdb = command->extended_cdb;
  task.scsi.expected_transfer_length = command->expected_data_transfer_length;
  task.scsi.expected_bidi_read_length = command->bidi_read_length;
  if (command->read && command->write) {
    task.scsi.direction = scsi::DataDirection::bidirectional;
  } else if (command->write) {
    task.scsi.direction = scsi::DataDirection::to_device;
  } else if (command->read) {
    task.scsi.direction = scsi::DataDirection::from_device;
  }
  tasks_.emplace(task.itt, std::move(owned));
  if (task.immediate) ++immediate_tasks_;

  if (!task.is_write) {
    if (!data.empty()) {
      // §11.2.1.1: immediate data only with the W bit; keep going but refuse the PDU.
      send_reject(kRejectProtocolError, bhs.raw);
      release_task(task.itt);
      return true;
    }
    if (!reserve_buffers(task)) {
      // Over budget: the command waits (outside the core, so an abort still covers it) and
      // the CmdSN window stops growing until buffers come back.
      target_->scsi_target->admit(task.scsi);
      park(task);
      return true;
    }
    submit_to_core(task);
    return true;
  }

  // Data-out: immediate data, then unsolicited Data-Out up to FirstBurstLength, then R2Ts
  // (§4.2.5.2, §13.5). From here on an abort from any nexus or gateway covers the task, though
  // it reaches the core only once its data is in.
  target_->scsi_target->admit(task.scsi);
  const uint32_t edtl = task.expected_length;
  task.data_out_capacity = std::min(edtl, kMaxDataOutBuffer);
  const auto immediate_length = static_cast<uint32_t>(data.size());
  if (immediate_length > 0 && (!params_.immediate_data || immediate_length > params_.first_burst_length ||
                               immediate_length > edtl)) {
    send_reject(kRejectProtocolError, bhs.raw);
    release_task(task.itt);
    return true;
  }
  task.received = immediate_length;
  if (!params_.initial_r2t && !bhs.final_bit) {
    task.unsolicited_end = std::min(edtl, params_.first_burst_length);
    if (task.unsolicited_end > task.received) {
      task.open_sequences.push_back({kReservedTag, task.received, task.unsolicited_end - task.received, 0, 0});
    }
  } else {
    task.unsolicited_end = task.received;
  }
  task.next_r2t_offset = task.unsolicited_end;
  // The data-out buffer is allocated only within the budget. Data that the initiator may send
  // unasked (immediate, unsolicited) cannot be held back: without room the command ends at
  // once with TASK SET FULL (SAM-5 5.3), which hosts retry, and that data is dropped on
  // arrival as belonging to no task. Data we solicit simply waits: no R2T goes out before the
  // buffer exists.
  if (!reserve_buffers(task)) {
    if (task.unsolicited_end > 0) {
      spdlog::debug("iscsi: connection {}: no buffer budget for ITT 0x{:08x} ({} bytes in use): TASK SET FULL", id_,
                    task.itt, buffers_.used());
      fail_before_core(task, scsi::ScsiStatus::task_set_full);
      return true;
    }
    park(task);
    return true;
  }
  if (immediate_length > 0) {
    std::memcpy(task.data_out.data(), data.data(), std::min(immediate_length, task.data_out_capacity));
  }
  if (task.received >= edtl) {
    finish_data_out(task);
    return true;
  }
  send_r2ts(task);
  return true;
}

bool Connection::reserve_buffers(IscsiTask& task) {
  const uint64_t bytes = uint64_t{task.is_write ? task.data_out_capacity : 0} +
                         target_->scsi_target->buffer_estimate(task.scsi);
  auto charge = buffers_.try_charge(bytes);
  if (!charge) return false;
  task.charge = std::move(*charge);
  if (task.is_write) task.data_out = IoBuffer(task.data_out_capacity);
  return true;
}

void Connection::park(IscsiTask& task) {
  task.parked = true;
  parked_.push_back(task.itt);
  schedule_parked_retry();
}

void Connection::resume_parked() {
  // Commands completing inline inside submit_to_core come back here: one pass at a time.
  if (resuming_parked_ || phase_ != Phase::full_feature) return;
  resuming_parked_ = true;
  while (!parked_.empty() && phase_ == Phase::full_feature) {
    auto it = tasks_.find(parked_.front());
    if (it == tasks_.end() || !it->second->parked) {  // aborted meanwhile (or an ITT reused)
      parked_.pop_front();
      continue;
    }
    IscsiTask& task = *it->second;
    if (!reserve_buffers(task)) break;  // arrival order: nobody overtakes the oldest
    parked_.pop_front();
    task.parked = false;
    if (task.is_write) {
      send_r2ts(task);
    } else {
      submit_to_core(task);
    }
  }
  resuming_parked_ = false;
  if (!parked_.empty()) schedule_parked_retry();
}

void Connection::schedule_parked_retry() {
  // Budget given back by this connection resumes its commands at once (on_sent, on_core_done);
  // budget given back to the gateway-wide pool by other connections is noticed by this timer.
  if (parked_timer_ != 0 || phase_ != Phase::full_feature) return;
  parked_timer_ = loop_.schedule_after(std::chrono::milliseconds(5), [this]() {
    parked_timer_ = 0;
    resume_parked();
  });
}

void Connection::finish_data_out(IscsiTask& task) {
  if (task.data_digest_failed) {
    // §7.8 option b at ERL 0: all the data is in, so the command ends here, unwritten.
    spdlog::info("iscsi: connection {}: data digest error in ITT 0x{:08x}: command failed", id_, task.itt);
    fail_before_core(task, scsi::SenseData{scsi::SenseKey::aborted_command, scsi::asc::kProtocolServiceCrcError,
                                           std::nullopt, std::nullopt});
    return;
  }
  submit_to_core(task);
}

void Connection::send_r2ts(IscsiTask& task) {
  // §11.8: at most MaxOutstandingR2T R2Ts per task, each for at most MaxBurstLength bytes.
  while (task.next_r2t_offset < task.expected_length &&
         std::count_if(task.open_sequences.begin(), task.open_sequences.end(),
                       [](const IscsiTask::Sequence& s) { return s.ttt != kReservedTag; }) <
             static_cast<long>(params_.max_outstanding_r2t)) {
    const uint32_t length = std::min(params_.max_burst_length, task.expected_length - task.next_r2t_offset);
    uint32_t ttt = next_ttt_++;
    if (ttt == kReservedTag) ttt = next_ttt_++;
    task.open_sequences.push_back({ttt, task.next_r2t_offset, length, 0, 0});
    R2tFields r2t;
    r2t.lun = task.scsi.lun;
    r2t.itt = task.itt;
    r2t.ttt = ttt;
    r2t.stat_sn = stat_sn_;
    r2t.exp_cmd_sn = exp_cmd_sn_;
    r2t.max_cmd_sn = max_cmd_sn();
    r2t.r2t_sn = task.r2t_sn++;
    r2t.buffer_offset = task.next_r2t_offset;
    r2t.desired_length = length;
    std::array<uint8_t, 48> header{};
    encode_r2t(r2t, header);
    queue_pdu(make_pdu(header, {}));
    task.next_r2t_offset += length;
  }
}

bool Connection::on_data_out(const Bhs& bhs, std::span<const uint8_t> data, PayloadDigest digest) {
  auto it = tasks_.find(bhs.itt);
  if (it == tasks_.end() || it->second->submitted || !it->second->is_write) {
    // §11.7: Data-Out for no such task (e.g. aborted, or already handed to the core): drop
    // it silently; a stale TTT is not worth a Reject that would confuse an initiator racing
    // an abort. A task in the core is never touched here: its buffers are the core's.
    return true;
  }
  IscsiTask& task = *it->second;
  if (task.parked) {
    // Parked tasks have had no R2T yet and expect no unsolicited data (those never park).
    send_reject(kRejectProtocolError, bhs.raw);
    return true;
  }
  auto seq = std::find_if(task.open_sequences.begin(), task.open_sequences.end(),
                          [&](const IscsiTask::Sequence& s) { return s.ttt == bhs.ttt; });
  const auto length = static_cast<uint32_t>(data.size());
  const uint32_t offset = bhs.buffer_offset;
  if (seq == task.open_sequences.end() || offset < seq->offset ||
      uint64_t{offset} + length > uint64_t{seq->offset} + seq->length || (length == 0 && !bhs.final_bit)) {
    // Data outside what was solicited (or unsolicited beyond FirstBurstLength): §11.7.
    send_reject(kRejectProtocolError, bhs.raw);
    return true;
  }
  if (bhs.data_sn != seq->next_data_sn) {
    // §11.7.5 with DataPDUInOrder=Yes: the data cannot be placed. ERL 0 has no recovery R2T, so
    // the command ends here with ABORTED COMMAND / DATA PHASE ERROR and nothing is written; the
    // session (and every other command on it) goes on, and Data-Out still in flight for this
    // ITT is dropped as belonging to no task.
    spdlog::info("iscsi: connection {}: Data-Out DataSN {} where {} was expected (ITT 0x{:08x}): command failed",
                 id_, bhs.data_sn, seq->next_data_sn, bhs.itt);
    fail_before_core(task, scsi::SenseData{scsi::SenseKey::aborted_command, scsi::asc::kDataPhaseError,
                                           std::nullopt, std::nullopt});
    return true;
  }
  ++seq->next_data_sn;
  if (digest == PayloadDigest::failed) {
    task.data_digest_failed = true;
  } else if (offset < task.data_out_capacity) {
    const uint32_t stored = std::min(length, task.data_out_capacity - offset);
    std::memcpy(task.data_out.data() + offset, data.data(), stored);
  }
  seq->received += length;
  task.received += length;
  if (bhs.final_bit || seq->received >= seq->length) {
    if (seq->received < seq->length && seq->ttt != kReservedTag) {
      // F bit before the R2T's data is complete: §11.7.1.
      close("Data-Out sequence ended early for ITT " + std::to_string(task.itt));
      return false;
    }
    task.open_sequences.erase(seq);
  }
  if (task.received >= task.expected_length && task.open_sequences.empty()) {
    finish_data_out(task);
  } else {
    send_r2ts(task);
  }
  return true;
}

void Connection::submit_to_core(IscsiTask& task) {
  task.submitted = true;
  task.scsi.data_out = std::span<const uint8_t>(task.data_out.data(), std::min(task.received, task.data_out_capacity));
  ++tasks_in_core_;
  target_->scsi_target->execute(*nexus_, task.scsi, loop_, [this, t = &task]() { on_core_done(t); });
}

void Connection::on_core_done(IscsiTask* task) {
  --tasks_in_core_;
  if (phase_ == Phase::closing) {
    release_task(task->itt);
    maybe_finish_close();
    return;
  }
  if (task->scsi.outcome == scsi::TaskOutcome::aborted_silently) {
    release_task(task->itt);  // §11.5.1: an aborted task gets no response
  } else {
    send_scsi_result(*task);
    release_task(task->itt);
  }
  advance_window();
  if (!parked_.empty()) resume_parked();
  if (draining_ && tasks_in_core_ == 0) close("gateway shutting down");
}

void Connection::send_scsi_result(IscsiTask& task) {
  scsi::ScsiTask& st = task.scsi;

  // Residuals (§11.4.5): compare what the command moved with the expected transfer length.
  // What the command wanted to move: the data-out its CDB asked for, or the data-in it produced
  // (SAM-5 5.4.3). A write the core refused for lack of data still reports its overflow.
  const uint32_t moved = st.data_out_length_needed > 0 ? st.data_out_length_needed : st.data_in_length;
  const bool overflow = moved > task.expected_length;
  const bool underflow = moved < task.expected_length;
  const uint32_t residual = overflow ? moved - task.expected_length : task.expected_length - moved;

  const uint32_t to_send = task.is_read ? std::min(st.data_in_length, task.expected_length) : 0;
  if (to_send > 0) {
    // Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength; the status rides in
    // the last one when there is no sense data (§11.7.4, the S bit).
    const uint32_t segment = params_.max_recv_data_segment_length_initiator;
    const bool status_in_data = st.sense.empty();
    uint32_t offset = 0;
    uint32_t data_sn = 0;
    const uint8_t* base = st.data_in.data();
    while (offset < to_send) {
      const uint32_t length = std::min(segment, to_send - offset);
      const bool last = offset + length == to_send;
      DataInFields din;
      din.lun = st.lun;
      din.itt = task.itt;
      din.data_sn = data_sn++;
      din.buffer_offset = offset;
      din.final = last;
      din.exp_cmd_sn = exp_cmd_sn_;
      din.max_cmd_sn = max_cmd_sn();
      if (last && status_in_data) {
        din.status_present = true;
        din.status = static_cast<uint8_t>(st.status);
        din.overflow = overflow;
        din.underflow = underflow;
        din.residual = residual;
        din.stat_sn = stat_sn_++;
      }
      std::array<uint8_t, 48> header{};
      encode_data_in(din, header);
      OutPdu pdu = make_pdu(header, std::span<const uint8_t>(base + offset, length));
      if (last) {
        pdu.owned_buffer = std::move(st.data_in);  // keeps the bytes alive until sent
        if (status_in_data) pdu.charge = std::move(task.charge);
      }
      queue_pdu(std::move(pdu));
      offset += length;
    }
    if (status_in_data) return;
  }

  ScsiResponseFields rsp;
  rsp.itt = task.itt;
  rsp.status = static_cast<uint8_t>(st.status);
  rsp.overflow = overflow;
  rsp.underflow = underflow;
  rsp.residual = (overflow || underflow) ? residual : 0;
  rsp.stat_sn = stat_sn_++;
  rsp.exp_cmd_sn = exp_cmd_sn_;
  rsp.max_cmd_sn = max_cmd_sn();
  std::array<uint8_t, 48> header{};
  std::vector<uint8_t> sense_segment;
  if (!st.sense.empty()) {
    // §11.4.7.2: SenseLength (2 bytes) followed by the sense data.
    sense_segment.resize(2 + st.sense.size());
    store_be16(sense_segment.data(), static_cast<uint16_t>(st.sense.size()));
    std::memcpy(sense_segment.data() + 2, st.sense.data(), st.sense.size());
  }
  encode_scsi_response(rsp, header);
  OutPdu pdu = make_pdu(header, sense_segment);
  pdu.owned_bytes = std::move(sense_segment);  // a moved vector keeps its buffer
  pdu.charge = std::move(task.charge);         // the budget comes back once the status is out
  queue_pdu(std::move(pdu));
}

void Connection::fail_before_core(IscsiTask& task, const scsi::SenseData& sense) {
  fail_before_core(task, scsi::ScsiStatus::check_condition, scsi::encode_sense(sense, false));
}

void Connection::fail_before_core(IscsiTask& task, scsi::ScsiStatus status, std::vector<uint8_t> sense) {
  task.scsi.status = status;
  task.scsi.sense = std::move(sense);
  task.scsi.data_in_length = 0;
  send_scsi_result(task);
  const uint32_t itt = task.itt;
  release_task(itt);
  advance_window();
}

void Connection::release_task(uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it != tasks_.end()) erase_task(it);
}

Connection::TaskMap::iterator Connection::erase_task(TaskMap::iterator it) {
  if (it->second->immediate) --immediate_tasks_;
  return tasks_.erase(it);
}

}  // namespace portico::iscsi
