#include "core/scsi/sense.h"

#include "core/common/big_endian.h"

namespace portico::scsi {
namespace {

// SPC-4 4.5.2.4.2: SKSV, C/D, BPV, bit pointer, field pointer.
void put_field_pointer(uint8_t* out, const FieldPointer& field) {
  out[0] = static_cast<uint8_t>(0x80 | (field.in_cdb ? 0x40 : 0x00) |
                                (field.bit ? static_cast<uint8_t>(0x08 | (*field.bit & 0x07)) : 0x00));
  store_be16(out + 1, field.byte);
}

// SPC-4 4.5.2.4.4: SKSV and PROGRESS INDICATION.
void put_progress(uint8_t* out, uint16_t progress) {
  out[0] = 0x80;
  store_be16(out + 1, progress);
}

}  // namespace

std::vector<uint8_t> encode_sense(const SenseData& sense, bool descriptor_format) {
  if (!descriptor_format) {
    // SPC-4 4.5.3: fixed format, current error.
    std::vector<uint8_t> out(18, 0);
    out[0] = 0x70;
    out[2] = static_cast<uint8_t>(sense.key);
    if (sense.information) {
      out[0] |= 0x80;  // VALID: the INFORMATION field is meaningful
      store_be32(out.data() + 3, static_cast<uint32_t>(*sense.information));
    }
    out[7] = 10;  // additional sense length
    out[12] = sense.asc.code;
    out[13] = sense.asc.qualifier;
    if (sense.field) put_field_pointer(out.data() + 15, *sense.field);
    if (sense.progress) put_progress(out.data() + 15, *sense.progress);
    return out;
  }
  // SPC-4 4.5.2: descriptor format, current error.
  std::vector<uint8_t> out(8, 0);
  out[0] = 0x72;
  out[1] = static_cast<uint8_t>(sense.key);
  out[2] = sense.asc.code;
  out[3] = sense.asc.qualifier;
  if (sense.information) {
    // 4.5.2.2: information descriptor.
    const size_t at = out.size();
    out.resize(at + 12, 0);
    out[at] = 0x00;
    out[at + 1] = 0x0a;
    out[at + 2] = 0x80;  // VALID
    store_be64(out.data() + at + 4, *sense.information);
  }
  if (sense.field) {
    // 4.5.2.4: sense key specific descriptor.
    const size_t at = out.size();
    out.resize(at + 8, 0);
    out[at] = 0x02;
    out[at + 1] = 0x06;
    put_field_pointer(out.data() + at + 4, *sense.field);
  } else if (sense.progress) {
    // 4.5.2.4: sense key specific descriptor carrying the progress indication.
    const size_t at = out.size();
    out.resize(at + 8, 0);
    out[at] = 0x02;
    out[at + 1] = 0x06;
    put_progress(out.data() + at + 4, *sense.progress);
  }
  out[7] = static_cast<uint8_t>(out.size() - 8);
  return out;
}

}  // namespace portico::scsi
