#include "cluster/rados/object_names.h"

#include <cstdio>

#include "cluster/local/lun_identity.h"

namespace portico::cluster::rados {

std::string lun_object_name(const std::string& lun_key) {
  std::string escaped;
  for (char c : lun_key) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') ||
                       byte == '.' || byte == '_' || byte == ':' || byte == '-';
    if (plain) {
      escaped += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", byte);
      escaped += hex;
    }
  }
  if (escaped.size() > kMaxEscapedKey) {
    char suffix[18];
    std::snprintf(suffix, sizeof suffix, "~%016llx", static_cast<unsigned long long>(stable_hash64(lun_key)));
    escaped = escaped.substr(0, kMaxEscapedKey) + suffix;
  }
  return "portico.lun." + escaped;
}

}  // namespace portico::cluster::rados
