#include "ceph/config_key.h"

#include <rados/librados.h>

#include <cerrno>

namespace portico::ceph {
namespace {

// Runs one monitor command; `out` gets its output buffer.
Status mon_command(const RadosConnection& connection, const std::string& command, const std::string& input,
                   const std::string& what, std::string* out) {
  const char* commands[] = {command.c_str()};
  char* out_buffer = nullptr;
  size_t out_length = 0;
  char* status_buffer = nullptr;
  size_t status_length = 0;
  const int ret = rados_mon_command(connection.handle(), commands, 1, input.data(), input.size(), &out_buffer,
                                    &out_length, &status_buffer, &status_length);
  const std::string status(status_buffer != nullptr ? status_buffer : "", status_length);
  if (ret == 0 && out != nullptr) out->assign(out_buffer != nullptr ? out_buffer : "", out_length);
  if (out_buffer != nullptr) rados_buffer_free(out_buffer);
  if (status_buffer != nullptr) rados_buffer_free(status_buffer);
  if (ret == 0) return {};
  const ErrorCode code = ret == -ENOENT ? ErrorCode::not_found
                         : ret == -EACCES || ret == -EPERM ? ErrorCode::permission_denied
                                                           : ErrorCode::io_error;
  return error(code, what + ": " + rados_error_text(ret) + (status.empty() ? "" : " (" + status + ")"));
}

}  // namespace

bool valid_config_key(const std::string& key) {
  if (key.empty() || key.size() > 512) return false;
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> config_key_get(const RadosConnection& connection, const std::string& key) {
  if (!valid_config_key(key)) return error(ErrorCode::invalid_argument, "config-key '" + key + "': not a Portico key");
  std::string value;
  auto got = mon_command(connection, R"({"prefix": "config-key get", "key": ")" + key + R"("})", "",
                         "config-key " + key + " cannot be read", &value);
  if (!got.ok()) return got;
  return value;
}

Status config_key_set(const RadosConnection& connection, const std::string& key, const std::string& value) {
  if (!valid_config_key(key)) return error(ErrorCode::invalid_argument, "config-key '" + key + "': not a Portico key");
  return mon_command(connection, R"({"prefix": "config-key set", "key": ")" + key + R"("})", value,
                     "config-key " + key + " cannot be written", nullptr);
}

Status config_key_remove(const RadosConnection& connection, const std::string& key) {
  if (!valid_config_key(key)) return error(ErrorCode::invalid_argument, "config-key '" + key + "': not a Portico key");
  return mon_command(connection, R"({"prefix": "config-key rm", "key": ")" + key + R"("})", "",
                     "config-key " + key + " cannot be removed", nullptr);
}

}  // namespace portico::ceph
