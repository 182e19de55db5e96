#include "frontends/nvmeof/server/queue_connect.h"

#include <spdlog/spdlog.h>

#include "core/nvme/subsystem.h"

namespace portico::nvmeof {

std::variant<QueueConnected, QueueConnectRefused> connect_queue(ServerContext& context,
                                                                const nvme::SubmissionEntry& sqe,
                                                                std::span<const uint8_t> data, bool data_form_ok,
                                                                nvme::FabricsTransport fabric, std::string_view transport, const std::string& peer) {
  auto fabrics = nvme::decode_fabrics_command(sqe);
  const auto* command = std::get_if<nvme::FabricsCommand>(&fabrics);
  if (command == nullptr || command->type != nvme::FabricsType::connect) {
    return QueueConnectRefused{nvme::GenericStatus::command_sequence_error};
  }
  const auto& connect = std::get<nvme::ConnectCommand>(command->body);
  if (!data_form_ok || data.size() != connect.data.length) {
    return QueueConnectRefused{nvme::CompletionStatus(nvme::GenericStatus::data_sgl_length_invalid).no_retry()};
  }
  auto connect_data = nvme::decode_connect_data(data);
  if (auto* rejection = std::get_if<nvme::ConnectRejection>(&connect_data)) {
    return QueueConnectRefused{rejection->status, rejection->dw0};
  }
  const auto& host = std::get<nvme::ConnectData>(connect_data);
  const auto subsystems = context.subsystems();
  auto found = subsystems->find(host.subsystem_nqn);
  if (found == subsystems->end()) {
    if (const auto log = context.peer_log.allow(); log.write) {
      spdlog::warn("{}: {} asked for subsystem {}, which this gateway does not serve{}", transport, peer,
                   host.subsystem_nqn, suppressed_note(log.suppressed_before));
    }
    return QueueConnectRefused{nvme::CommandSpecificStatus::connect_invalid_parameters,
                               nvme::connect_invalid_parameter_dw0(true, nvme::kConnectDataSubsystemNqnOffset)};
  }
  auto result = found->second->connect(connect, host, fabric);
  if (auto* rejection = std::get_if<nvme::ConnectRejection>(&result)) {
    return QueueConnectRefused{rejection->status, rejection->dw0};
  }
  return QueueConnected{std::get<std::shared_ptr<nvme::Controller>>(result), found->second, connect};
}

void ConnectedQueue::adopt(QueueConnected&& connected) {
  controller = std::move(connected.controller);
  subsystem = std::move(connected.subsystem);
  queue.id = connected.connect.queue_id;
  queue.size = static_cast<uint16_t>(connected.connect.sq_size + 1);
  sq_flow_control = !connected.connect.disable_sq_flow_control();
  sq_head = static_cast<uint16_t>(1 % queue.size);
}

std::optional<std::string> queue_end_reason(nvme::Controller& controller, const nvme::QueueContext& queue,
                                            int64_t now_ns) {
  if (controller.retired()) return "its controller ended";
  if (queue.id != 0) return std::nullopt;
  if (controller.keep_alive_expired(now_ns)) {
    return "keep alive timeout (KATO " + std::to_string(controller.keep_alive_ms()) + " ms) expired";
  }
  controller.check_discovery_log();
  return std::nullopt;
}

void release_connected_queue(nvme::Controller& controller, nvme::Subsystem& subsystem, nvme::QueueContext& queue) {
  controller.release_queue(queue);
  if (queue.id == 0) {
    controller.retire();
    subsystem.remove_controller(controller.id());
  }
}

bool is_disconnect(const nvme::SubmissionEntry& sqe) {
  return sqe.is_fabrics() && sqe.raw[4] == static_cast<uint8_t>(nvme::FabricsType::disconnect);
}

}  // namespace portico::nvmeof
