// The monitors' config-key store, where the gateways' CHAP secrets live (daemon/config.h: a
// record's secrets are references to it). Reading a key needs the monitor capability for
// `config-key get`, which a client confined to the pool (`profile rbd`) does not have, unlike
// the pool's objects. Blocking monitor commands: start-up, the configuration thread, the
// portico command.
#pragma once

#include <string>

#include "ceph/rados_connection.h"
#include "core/common/result.h"

namespace portico::ceph {

// Keys are written by Portico only: letters, digits and . _ - : / (no JSON escaping needed).
bool valid_config_key(const std::string& key);

Result<std::string> config_key_get(const RadosConnection& connection, const std::string& key);
// The value goes as the command's input, never in the command text.
Status config_key_set(const RadosConnection& connection, const std::string& key, const std::string& value);
Status config_key_remove(const RadosConnection& connection, const std::string& key);

}  // namespace portico::ceph
