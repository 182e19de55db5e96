#include "backends/rbd/rbd_image_checks.h"

#include <array>
#include <cstring>
#include <vector>

#include "ceph/rados_connection.h"

namespace portico::backends::rbd_checks {
namespace {

struct RequiredOption {
  const char* key;
  const char* value;
};

// rbd_cache: a cache in one gateway would hide other gateways' writes from its reads, and hold
// acknowledged writes in memory. rbd_skip_partial_discard=false: a discard zeroes the partial
// ranges it cannot deallocate, so that discarded blocks read back as zeroes (LBPRZ).
constexpr std::array<RequiredOption, 2> kRequired{{
    {"rbd_cache", "false"},
    {"rbd_skip_partial_discard", "false"},
}};

std::string prefix(const std::string& image_name) { return "rbd image " + image_name + ": "; }

}  // namespace

Status configure_connection(rados_t cluster, const std::string& image_name) {
  for (const auto& option : kRequired) {
    const int ret = rados_conf_set(cluster, option.key, option.value);
    if (ret < 0) {
      return error(ErrorCode::internal, prefix(image_name) + "cannot set " + option.key + "=" + option.value +
                                            " on the connection: " + ceph::rados_error_text(ret));
    }
  }
  return {};
}

Status check_features(rbd_image_t image, const std::string& image_name) {
  uint64_t features = 0;
  const int ret = rbd_get_features(image, &features);
  if (ret < 0) return error(ErrorCode::io_error, prefix(image_name) + "rbd_get_features: " + ceph::rados_error_text(ret));
  if ((features & RBD_FEATURE_EXCLUSIVE_LOCK) == 0) return {};
  // Everything that depends on exclusive-lock goes with it, in one command (librbd refuses to
  // drop exclusive-lock while object-map or journaling stays).
  std::string to_disable;
  for (const auto& [bit, feature] : {std::pair{RBD_FEATURE_OBJECT_MAP, RBD_FEATURE_NAME_OBJECT_MAP},
                                     std::pair{RBD_FEATURE_FAST_DIFF, RBD_FEATURE_NAME_FAST_DIFF},
                                     std::pair{RBD_FEATURE_JOURNALING, RBD_FEATURE_NAME_JOURNALING},
                                     std::pair{RBD_FEATURE_EXCLUSIVE_LOCK, RBD_FEATURE_NAME_EXCLUSIVE_LOCK}}) {
    if ((features & bit) != 0) to_disable += std::string(" ") + feature;
  }
  return error(ErrorCode::unsupported,
               prefix(image_name) + "has the exclusive-lock feature, which would bounce between the gateways "
                                    "that write it; disable it with: rbd feature disable " +
                   image_name + to_disable);
}

Status check_effective_config(rbd_image_t image, const std::string& pool, const std::string& image_name) {
  std::vector<rbd_config_option_t> options(256);
  int count = static_cast<int>(options.size());
  int ret = rbd_config_image_list(image, options.data(), &count);
  if (ret == -ERANGE) {
    options.resize(static_cast<size_t>(count));
    ret = rbd_config_image_list(image, options.data(), &count);
  }
  if (ret < 0) {
    return error(ErrorCode::io_error, prefix(image_name) + "rbd_config_image_list: " + ceph::rados_error_text(ret));
  }
  Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    const auto& option = options[static_cast<size_t>(i)];
    for (const auto& required : kRequired) {
      if (std::strcmp(option.name, required.key) != 0 || std::strcmp(option.value, required.value) == 0) continue;
      std::string fix;
      if (option.source == RBD_CONFIG_SOURCE_IMAGE) {
        fix = "; remove the image override with: rbd config image remove " + image_name + " " + required.key;
      } else if (option.source == RBD_CONFIG_SOURCE_POOL) {
        fix = "; remove the pool override with: rbd config pool remove " + pool + " " + required.key;
      }
      status = error(ErrorCode::invalid_argument, prefix(image_name) + required.key + " is " + option.value +
                                                      ", a gateway needs " + required.value + fix);
    }
  }
  rbd_config_image_list_cleanup(options.data(), count);
  return status;
}

}  // namespace portico::backends::rbd_checks
