// Fuzzes one NVMe/TCP queue's receive side as the server drives it: the first input byte picks
// the controller's limits, the rest is the byte stream from the host (ICReq, then anything). The
// receiver must refuse what is wrong with an FES and a message, never crash, and never ask the
// server to buffer more than the negotiated bound for one PDU.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frontends/nvmeof/protocol/queue_setup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::nvmeof;
  if (size == 0) return 0;
  ControllerTransportLimits limits;
  limits.header_digest = (data[0] & 0x01) != 0;
  limits.data_digest = (data[0] & 0x02) != 0;
  limits.cpda = (data[0] & 0x04) != 0 ? 3 : 0;
  limits.max_h2c_data = (data[0] & 0x08) != 0 ? 4096 : 128 * 1024;
  limits.in_capsule_data = (data[0] & 0x10) != 0 ? 0 : 8192;
  const uint64_t bound = kMaxHeaderLength + 2 * kDigestSize + 128 +
                         (limits.max_h2c_data > limits.in_capsule_data ? limits.max_h2c_data : limits.in_capsule_data);
  QueueReceiver receiver(limits);
  std::span<const uint8_t> rest(data + 1, size - 1);
  while (!rest.empty()) {
    auto length = receiver.frame(rest);
    if (!length.ok()) {
      if (length.error().message.empty()) __builtin_trap();
      return 0;
    }
    if (!*length) return 0;
    if (**length > bound || **length < kCommonHeaderSize) __builtin_trap();
    if (rest.size() < **length) return 0;
    auto pdu = receiver.receive(rest.first(**length));
    if (!pdu.ok()) {
      if (pdu.error().message.empty()) __builtin_trap();
      return 0;
    }
    if (pdu->layout.common.type == PduType::ic_req && !receiver.established()) __builtin_trap();
    rest = rest.subspan(**length);
  }
  return 0;
}
