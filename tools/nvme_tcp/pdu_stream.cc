#include "tools/nvme_tcp/pdu_stream.h"

#include <algorithm>
#include <string>

namespace portico::nvme_host {

Status PduStream::fill(size_t needed) {
  if (end_ - begin_ >= needed) return {};
  if (begin_ > 0 && in_.size() - begin_ < needed) {
    std::copy(in_.begin() + static_cast<std::ptrdiff_t>(begin_), in_.begin() + static_cast<std::ptrdiff_t>(end_),
              in_.begin());
    end_ -= begin_;
    begin_ = 0;
  }
  if (in_.size() - begin_ < needed) in_.resize(begin_ + std::max(needed, kReadSize));
  while (end_ - begin_ < needed) {
    auto n = socket_.receive_some(std::span<uint8_t>(in_).subspan(end_));
    if (!n.ok()) return n.status();
    end_ += *n;
  }
  return {};
}

bool PduStream::has_buffered_pdu(const nvmeof::ConnectionParams& params) const {
  if (end_ - begin_ < nvmeof::kCommonHeaderSize) return false;
  const auto layout = nvmeof::decode_common_header(
      std::span<const uint8_t>(in_).subspan(begin_).first<nvmeof::kCommonHeaderSize>(), params);
  // A header in error is "ready" too: receive() reports it at once.
  return !layout.ok() || end_ - begin_ >= layout->total_length();
}

Received PduStream::receive(const nvmeof::ConnectionParams& params, uint32_t max_data) {
  if (Status s = fill(nvmeof::kCommonHeaderSize); !s.ok()) return s;
  const auto layout = nvmeof::decode_common_header(
      std::span<const uint8_t>(in_).subspan(begin_).first<nvmeof::kCommonHeaderSize>(), params);
  last_header_.assign(in_.begin() + static_cast<std::ptrdiff_t>(begin_),
                      in_.begin() + static_cast<std::ptrdiff_t>(begin_ + nvmeof::kCommonHeaderSize));
  if (!layout.ok()) return layout.error();
  if (layout->data_length > max_data) {
    constexpr uint32_t kPlenOffset = 4;
    return nvmeof::pdu_error(nvmeof::FatalErrorStatus::data_transfer_out_of_range, kPlenOffset,
                             "nvme/tcp: " + std::string(nvmeof::pdu_type_name(layout->common.type)) + " carries " +
                                 std::to_string(layout->data_length) + " data bytes, no command expects more than " +
                                 std::to_string(max_data));
  }
  // PLEN passed the header checks, so buffering that much is bounded by what was negotiated.
  const size_t total = layout->total_length();
  if (Status s = fill(total); !s.ok()) return s;
  const auto pdu_bytes = std::span<const uint8_t>(in_).subspan(begin_, total);
  last_header_.assign(pdu_bytes.begin(),
                      pdu_bytes.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(total, nvmeof::kTermReqMaxErrorData)));
  begin_ += total;
  if (begin_ == end_) begin_ = end_ = 0;  // the span below stays valid: nothing is moved before the next fill
  auto pdu = nvmeof::decode_pdu(pdu_bytes, params);
  if (!pdu.ok()) return pdu.error();
  return *pdu;
}

std::span<const uint8_t> PduStream::last_header() const { return last_header_; }

}  // namespace portico::nvme_host
