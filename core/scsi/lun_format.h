// SAM-5 4.7: the 8-byte LUN field as REPORT LUNS returns it and transports carry it.
#pragma once

#include <array>
#include <cstdint>

namespace portico::scsi {

// Peripheral device addressing for LUNs below 256, flat space addressing up to 16383.
inline std::array<uint8_t, 8> encode_lun(uint64_t lun) {
  std::array<uint8_t, 8> out{};
  if (lun < 256) {
    out[1] = static_cast<uint8_t>(lun);
  } else {
    out[0] = static_cast<uint8_t>(0x40 | ((lun >> 8) & 0x3f));
    out[1] = static_cast<uint8_t>(lun & 0xff);
  }
  return out;
}

}  // namespace portico::scsi
