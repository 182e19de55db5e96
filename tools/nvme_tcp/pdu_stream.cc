#include "tools/nvme_tcp/pdu_stream.h"

#include <algorithm>
#include <string>

namespace portico::nvme_host {

Received PduStream::receive(const nvmeof::ConnectionParams& params, uint32_t max_data) {
  buffer_.resize(nvmeof::kCommonHeaderSize);
  if (Status s = socket_.receive_exact(buffer_); !s.ok()) return s;
  const auto layout =
      nvmeof::decode_common_header(std::span<const uint8_t>(buffer_).first<nvmeof::kCommonHeaderSize>(), params);
  if (!layout.ok()) return layout.error();
  if (layout->data_length > max_data) {
    constexpr uint32_t kPlenOffset = 4;
    return nvmeof::pdu_error(nvmeof::FatalErrorStatus::data_transfer_out_of_range, kPlenOffset,
                             "nvme/tcp: " + std::string(nvmeof::pdu_type_name(layout->common.type)) + " carries " +
                                 std::to_string(layout->data_length) + " data bytes, no command expects more than " +
                                 std::to_string(max_data));
  }
  // PLEN passed the header checks, so reading that much is bounded by what was negotiated.
  buffer_.resize(layout->total_length());
  if (Status s = socket_.receive_exact(std::span<uint8_t>(buffer_).subspan(nvmeof::kCommonHeaderSize)); !s.ok()) {
    return s;
  }
  auto pdu = nvmeof::decode_pdu(buffer_, params);
  if (!pdu.ok()) return pdu.error();
  return *pdu;
}

std::span<const uint8_t> PduStream::last_header() const {
  return std::span<const uint8_t>(buffer_).first(std::min<size_t>(buffer_.size(), nvmeof::kTermReqMaxErrorData));
}

}  // namespace portico::nvme_host
