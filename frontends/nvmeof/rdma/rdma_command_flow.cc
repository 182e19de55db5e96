// Commands on an NVMe/RDMA queue: the capsule, its data (in the capsule, or read from the host's
// memory with RDMA READ), the Connect that makes the queue, the core, and the answer (the data
// with RDMA WRITE, then the response capsule's SEND).
#include <spdlog/spdlog.h>

#include <cstring>

#include "core/nvme/cqe.h"
#include "core/nvme/fabrics.h"
#include "core/nvme/subsystem.h"
#include "frontends/nvmeof/rdma/rdma_queue.h"
#include "frontends/nvmeof/server/queue_connect.h"

namespace portico::nvmeof {
namespace {

nvme::CompletionStatus no_retry(nvme::GenericStatus status) { return nvme::CompletionStatus(status).no_retry(); }

// The work requests that move `length` bytes between registered chunks and the host's memory at
// `remote` (one RDMA READ or WRITE per `max_sge` chunks), chained; the last one is the caller's
// to chain on or signal. `sges` holds the scatter lists.
unsigned chain_transfers(ibv_wr_opcode opcode, const std::vector<uint32_t>& chunks, const RegisteredChunks& pool,
                         uint32_t length, uint64_t remote, uint32_t rkey, uint32_t max_sge, uint64_t wr_id,
                         std::vector<ibv_send_wr>& wrs, std::vector<ibv_sge>& sges) {
  const uint32_t chunk_bytes = pool.chunk_bytes();
  const auto count = static_cast<uint32_t>(chunks.size());
  const uint32_t requests = (count + max_sge - 1) / max_sge;
  sges.resize(count);
  wrs.resize(requests);
  uint32_t offset = 0;
  for (uint32_t r = 0; r < requests; ++r) {
    ibv_send_wr& wr = wrs[r];
    wr = ibv_send_wr{};
    wr.wr_id = wr_id;
    wr.opcode = opcode;
    wr.wr.rdma.remote_addr = remote + offset;
    wr.wr.rdma.rkey = rkey;
    wr.sg_list = &sges[size_t{r} * max_sge];
    const uint32_t first = r * max_sge;
    const uint32_t last = std::min(count, first + max_sge);
    for (uint32_t c = first; c < last; ++c) {
      const uint32_t part = std::min(chunk_bytes, length - offset);
      sges[c].addr = reinterpret_cast<uintptr_t>(pool.address(chunks[c]));
      sges[c].length = part;
      sges[c].lkey = pool.lkey();
      offset += part;
    }
    wr.num_sge = static_cast<int>(last - first);
    wr.next = r + 1 < requests ? &wrs[r + 1] : nullptr;
  }
  return requests;
}

}  // namespace

uint32_t RdmaQueue::take_slot() {
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  slots_[slot] = std::make_unique<RdmaCommand>();
  return slot;
}

void RdmaQueue::release_slot(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  device_->chunks(loop_index_).give_back(command.chunks);
  if (auto it = slot_by_cid_.find(command.command.sqe.cid); it != slot_by_cid_.end() && it->second == slot) {
    slot_by_cid_.erase(it);
  }
  slots_[slot].reset();  // its charge returns to the budget
  free_slots_.push_back(slot);
}

bool RdmaQueue::on_capsule(std::span<const uint8_t> capsule) {
  if (capsule.size() < nvme::kSqeSize) {
    close("a capsule of " + std::to_string(capsule.size()) + " bytes, shorter than an SQE");
    return true;
  }
  const std::span<const uint8_t, nvme::kSqeSize> sqe_bytes(capsule.data(), nvme::kSqeSize);
  const nvme::SubmissionEntry sqe = *nvme::decode_sqe(sqe_bytes);  // 64 bytes always decode
  const auto in_capsule = capsule.subspan(nvme::kSqeSize);
  const bool connecting = phase_ == Phase::awaiting_connect;
  if (free_slots_.empty()) {
    close("the host sent more than " + std::to_string(shape_.entries) + " commands at once");
    return true;
  }
  // What its data needs, charged before anything is allocated.
  nvme::NvmeCommand probe;
  probe.sqe = sqe;
  const uint32_t data_out = probe.data_out_length();
  const uint32_t data_in = probe.data_in_limit();
  std::optional<runtime::BufferCharge> charge = buffers_.try_charge(uint64_t{data_out} + data_in);
  if (!charge) {
    if (budget_timer_ == 0 && in_core_ == 0) {
      // Nothing of this queue will return bytes: the pool is held by others. Try again soon.
      budget_timer_ = loop_.schedule_after(std::chrono::milliseconds(5), [this]() {
        auto self = shared_from_this();
        budget_timer_ = 0;
        take_waiting_capsules();
      });
    }
    return false;
  }
  link_.consume_entry();
  const uint32_t slot = take_slot();
  RdmaCommand& command = *slots_[slot];
  command.command.sqe = sqe;
  command.command.queue_id = link_.queue.id;
  command.charge = std::move(*charge);
  command.connect = connecting;
  if (!connecting) {
    std::optional<nvme::CompletionStatus> refused;
    if (draining_) {
      refused = nvme::CompletionStatus(nvme::GenericStatus::command_sequence_error);
    } else if (slot_by_cid_.count(sqe.cid) != 0) {
      refused = no_retry(nvme::GenericStatus::command_id_conflict);
    } else if (link_.subsystem->beyond_max_transfer(command.command)) {
      refused = no_retry(nvme::GenericStatus::invalid_field);
    }
    if (refused) {
      respond_refused(slot, *refused);
      return true;
    }
  }
  slot_by_cid_[sqe.cid] = slot;
  auto plan = plan_rdma_data(sqe, data_out, data_in, static_cast<uint32_t>(in_capsule.size()), in_capsule_limit_);
  if (auto* status = std::get_if<nvme::CompletionStatus>(&plan)) {
    respond_refused(slot, *status);
    return true;
  }
  command.plan = std::get<RdmaDataPlan>(plan);
  if (data_out != 0) command.data_out = IoBuffer(data_out);
  if (command.plan.where == RdmaDataPlan::Where::in_capsule) {
    std::memcpy(command.data_out.data(), in_capsule.data() + command.plan.capsule_offset, data_out);
  }
  if (command.plan.where == RdmaDataPlan::Where::host_memory && command.plan.to_controller) {
    if (!blocked_.empty() || !start_read(slot)) {
      if (phase_ == Phase::closing) return true;
      command.blocked = Blocked::read;
      blocked_.push_back(slot);
    }
    return true;
  }
  start_command(slot);
  return true;
}

void RdmaQueue::take_waiting_capsules() {
  while (!waiting_capsules_.empty() && phase_ != Phase::closing) {
    std::vector<uint8_t> capsule = std::move(waiting_capsules_.front());
    waiting_capsules_.pop_front();
    if (!on_capsule(capsule)) {
      waiting_capsules_.push_front(std::move(capsule));
      return;
    }
  }
}

bool RdmaQueue::start_read(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  RegisteredChunks& pool = device_->chunks(loop_index_);
  const uint32_t length = command.plan.length;
  const uint32_t needed = pool.chunks_for(length);
  const uint32_t requests = (needed + device_->read_sge() - 1) / device_->read_sge();
  if (requests > send_slots_free_ || !pool.take(needed, command.chunks)) return false;
  std::vector<ibv_send_wr> wrs;
  std::vector<ibv_sge> sges;
  chain_transfers(IBV_WR_RDMA_READ, command.chunks, pool, length, command.plan.remote_address,
                  command.plan.remote_key, device_->read_sge(), work_id(WorkKind::unsignaled, slot), wrs, sges);
  wrs.back().wr_id = work_id(WorkKind::read, slot);
  wrs.back().send_flags = IBV_SEND_SIGNALED;
  command.stage = Stage::reading;
  command.send_slots = requests;
  return post_send_chain(wrs.data(), requests);
}

void RdmaQueue::on_read_done(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  // The host's data is in the chunks: into the command's own buffer, and the chunks go back.
  RegisteredChunks& pool = device_->chunks(loop_index_);
  uint32_t offset = 0;
  for (uint32_t chunk : command.chunks) {
    const uint32_t part = std::min(pool.chunk_bytes(), command.plan.length - offset);
    std::memcpy(command.data_out.data() + offset, pool.address(chunk), part);
    offset += part;
  }
  pool.give_back(command.chunks);
  if (phase_ == Phase::closing) return release_slot(slot);
  start_command(slot);
}

void RdmaQueue::start_command(uint32_t slot) {
  if (slots_[slot]->connect) return on_connect(slot);
  submit(slot);
}

void RdmaQueue::on_connect(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  const nvme::SubmissionEntry& sqe = command.command.sqe;
  // The Connect data may come in the capsule or from the host's memory (Linux's host reads the
  // admin queue's from its memory, an I/O queue's in the capsule).
  const std::span<const uint8_t> data(command.data_out.data(), command.data_out.size());
  auto outcome = connect_queue(context_, sqe, data, command.plan.to_controller, nvme::FabricsTransport::rdma,
                               "nvme-rdma", peer_address_);
  if (auto* refused = std::get_if<QueueConnectRefused>(&outcome)) return respond_refused(slot, refused->status, refused->dw0);
  auto& connected = std::get<QueueConnected>(outcome);
  // The queue the Connect names is the one the CM request asked for, and no larger.
  std::optional<uint16_t> invalid_at;
  if (connected.connect.queue_id != shape_.queue_id) invalid_at = 42;  // QID
  if (uint32_t{connected.connect.sq_size} + 1 > shape_.entries) invalid_at = 44;  // SQSIZE
  if (invalid_at) {
    if (connected.connect.queue_id == 0) {
      connected.controller->retire();
      connected.subsystem->remove_controller(connected.controller->id());
    }
    return respond_refused(slot, nvme::CommandSpecificStatus::connect_invalid_parameters,
                           nvme::connect_invalid_parameter_dw0(false, *invalid_at));
  }
  link_.adopt(std::move(connected));
  phase_ = Phase::connected;
  if (setup_timer_ != 0) loop_.cancel_timer(std::exchange(setup_timer_, 0));
  spdlog::info("{} connected ({} entries, {} RDMA READs in flight)", who(), link_.queue.size, shape_.read_depth);
  respond_refused(slot, nvme::GenericStatus::success, nvme::connect_success_dw0(link_.controller->id()));
}

void RdmaQueue::submit(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  command.command.data_out = std::span<const uint8_t>(command.data_out.data(), command.data_out.size());
  command.stage = Stage::in_core;
  ++in_core_;
  link_.controller->execute(link_.queue, command.command, loop_, [self = shared_from_this(), slot]() { self->on_core_done(slot); });
}

void RdmaQueue::on_core_done(uint32_t slot) {
  --in_core_;
  RdmaCommand& command = *slots_[slot];
  command.stage = Stage::waiting;
  if (phase_ == Phase::closing) {
    release_slot(slot);
    return maybe_finish_close();
  }
  if (is_disconnect(command.command.sqe)) disconnecting_ = true;
  if (!blocked_.empty() || !respond(slot)) {
    if (phase_ == Phase::closing) return maybe_finish_close();
    command.blocked = Blocked::respond;
    blocked_.push_back(slot);
  }
  close_if_drained();
}

void RdmaQueue::respond_refused(uint32_t slot, nvme::CompletionStatus status, uint32_t dw0) {
  RdmaCommand& command = *slots_[slot];
  command.command.status = status;
  command.command.result_dw0 = dw0;
  command.command.data_in_length = 0;  // a refused command returns no data
  if (!blocked_.empty() || !respond(slot)) {
    if (phase_ == Phase::closing) return;
    command.blocked = Blocked::respond;
    blocked_.push_back(slot);
  }
}

bool RdmaQueue::respond(uint32_t slot) {
  RdmaCommand& command = *slots_[slot];
  RegisteredChunks& pool = device_->chunks(loop_index_);
  const nvme::NvmeCommand& done = command.command;
  uint32_t length = 0;
  if (done.status.ok() && done.data_in_length != 0 && command.plan.where == RdmaDataPlan::Where::host_memory &&
      !command.plan.to_controller) {
    length = std::min(done.data_in_length, command.plan.length);
  }
  const uint32_t needed = pool.chunks_for(length);
  const uint32_t writes = (needed + device_->write_sge() - 1) / device_->write_sge();
  if (writes + 1 > send_slots_free_) return false;
  if (needed > 0 && !pool.take(needed, command.chunks)) return false;
  // The data, copied into registered chunks.
  for (uint32_t i = 0, offset = 0; i < needed; ++i) {
    const uint32_t part = std::min(pool.chunk_bytes(), length - offset);
    std::memcpy(pool.address(command.chunks[i]), done.data_in.data() + offset, part);
    offset += part;
  }
  // The response capsule: the CQE.
  nvme::CompletionEntry entry;
  entry.dw0 = done.result_dw0;
  entry.dw1 = done.result_dw1;
  entry.sq_head = link_.sq_flow_control ? link_.sq_head : 0;
  entry.sq_id = link_.queue.id;
  entry.cid = done.sqe.cid;
  entry.status = done.status;
  const auto cqe = nvme::encode_cqe(entry);
  std::memcpy(response_buffer(slot), cqe.data(), cqe.size());

  std::vector<ibv_send_wr> wrs;
  std::vector<ibv_sge> sges;
  if (needed > 0) {
    chain_transfers(IBV_WR_RDMA_WRITE, command.chunks, pool, length, command.plan.remote_address,
                    command.plan.remote_key, device_->write_sge(), work_id(WorkKind::unsignaled, slot), wrs, sges);
  }
  ibv_sge response_sge{};
  response_sge.addr = reinterpret_cast<uintptr_t>(response_buffer(slot));
  response_sge.length = static_cast<uint32_t>(cqe.size());
  response_sge.lkey = response_mr_->lkey;
  ibv_send_wr send{};
  send.wr_id = work_id(WorkKind::send, slot);
  send.sg_list = &response_sge;
  send.num_sge = 1;
  send.send_flags = IBV_SEND_SIGNALED;
  // SEND with Invalidate when the host's SGL asked for its key's invalidation (NVMe over Fabrics
  // 1.1, "Keyed SGL Data Block descriptor", sub type Fh); a host whose key is not invalidated by
  // the controller invalidates it itself.
  if (command.plan.invalidate_key && send_with_invalidate_) {
    send.opcode = IBV_WR_SEND_WITH_INV;
    send.invalidate_rkey = command.plan.remote_key;
  } else {
    send.opcode = IBV_WR_SEND;
  }
  if (!wrs.empty()) wrs.back().next = &send;
  command.stage = Stage::sending;
  command.send_slots = writes + 1;
  // Answered: the host may use the CID again as soon as it sees the response.
  if (auto it = slot_by_cid_.find(done.sqe.cid); it != slot_by_cid_.end() && it->second == slot) slot_by_cid_.erase(it);
  return post_send_chain(wrs.empty() ? &send : wrs.data(), writes + 1);
}

void RdmaQueue::on_send_done(uint32_t slot) {
  const bool last = disconnecting_ && slots_[slot] && is_disconnect(slots_[slot]->command.sqe);
  release_slot(slot);
  // Disconnect (NVMe over Fabrics 1.1): its answer is the queue's last.
  if (last) return close("");
  close_if_drained();
}

}  // namespace portico::nvmeof
