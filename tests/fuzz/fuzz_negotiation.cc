// Fuzzes operational negotiation. Input: one flag byte (bit 0 discovery, bit 1 full feature
// phase), then a key=value data segment. Negotiated values must stay within RFC 7143's ranges.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontends/iscsi/protocol/negotiation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::iscsi;
  if (size < 1) return 0;
  auto keys = parse_text_keys(std::span<const uint8_t>(data + 1, size - 1));
  if (!keys.ok()) return 0;
  Negotiator n(TargetLimits{});
  n.set_discovery((data[0] & 1) != 0);
  const auto stage = (data[0] & 2) != 0 ? Negotiator::Stage::full_feature : Negotiator::Stage::login;
  std::vector<TextKey> replies;
  (void)n.negotiate(*keys, stage, replies);
  n.finish(replies);
  const SessionParams& p = n.params();
  if (p.max_recv_data_segment_length_initiator < 512 || p.max_recv_data_segment_length_initiator > 16777215 ||
      p.first_burst_length > p.max_burst_length || p.max_outstanding_r2t == 0 || p.error_recovery_level != 0 ||
      p.max_connections != 1 || !p.data_pdu_in_order || !p.data_sequence_in_order) {
    __builtin_trap();
  }
  return 0;
}
