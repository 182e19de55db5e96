#include "frontends/fc_tcmu/lio/uio_device.h"

#include <system_error>

#include "frontends/fc_tcmu/lio/attribute_file.h"

namespace portico::tcmu {

std::string tcmu_uio_name(uint32_t hba, std::string_view backstore, std::string_view dev_config) {
  std::string name = "tcm-user/" + std::to_string(hba) + "/";
  name.append(backstore);
  name.push_back('/');
  name.append(dev_config);
  return name;
}

Result<UioDevice> find_uio_device(const std::filesystem::path& sysfs_uio_root, const std::filesystem::path& dev_root,
                                  std::string_view uio_name) {
  std::error_code ec;
  std::filesystem::directory_iterator it(sysfs_uio_root, ec);
  if (ec) {
    return Status{ErrorCode::not_found, "list " + sysfs_uio_root.string() + ": " + ec.message() +
                                            " (is the uio module loaded?)"};
  }
  for (const auto& entry : it) {
    std::string node = entry.path().filename().string();
    if (node.rfind("uio", 0) != 0) continue;
    auto name = read_attribute(entry.path() / "name");
    if (!name.ok() || *name != uio_name) continue;
    auto size_text = read_attribute(entry.path() / "maps" / "map0" / "size");
    if (!size_text.ok()) return size_text.status();
    auto size = parse_unsigned(*size_text, entry.path() / "maps" / "map0" / "size");
    if (!size.ok()) return size.status();
    if (*size == 0) {
      return Status{ErrorCode::invalid_argument, (entry.path() / "maps" / "map0" / "size").string() + " is 0"};
    }
    return UioDevice{(dev_root / node).string(), *size};
  }
  return Status{ErrorCode::not_found, "no uio device named \"" + std::string(uio_name) + "\" under " +
                                          sysfs_uio_root.string()};
}

}  // namespace portico::tcmu
