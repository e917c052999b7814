#include "vitals/checks/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace vitals::checks {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

/// "750ms", "42s", "12m", "12m30s", "3h5m", "2d4h": short enough for a probe line.
std::string human_duration(milliseconds d) {
  const auto ms = d.count();
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  const auto s = ms / 1000;
  if (s < 60) {
    return std::to_string(s) + "s";
  }
  auto unit = [](long long v, long long rest, const char* a, const char* b) {
    return std::to_string(v) + a + (rest > 0 ? std::to_string(rest) + b : "");
  };
  if (s < 3600) {
    return unit(s / 60, s % 60, "m", "s");
  }
  if (s < 86400) {
    return unit(s / 3600, (s % 3600) / 60, "h", "m");
  }
  return unit(s / 86400, (s % 86400) / 3600, "d", "h");
}

class file_check final : public vitals::check {
 public:
  explicit file_check(file_options options) : options_(std::move(options)) {}

  vitals::result run(const vitals::context&) override {
    const std::string& path = options_.path;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      if (!ec || ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
        return vitals::fail(path + ": does not exist");
      }
      return vitals::fail(path + ": " + ec.message(), vitals::failure_kind::internal);
    }
    if (options_.writable && ::access(path.c_str(), W_OK) != 0) {
      const int err = errno;
      return vitals::fail(path + ": not writable (" + std::strerror(err) + ")");
    }
    if (options_.max_age.count() == 0 && options_.warn_age.count() == 0) {
      return vitals::pass().detail("path", path);
    }

    const auto mtime = fs::last_write_time(path, ec);
    if (ec) {
      return vitals::fail(path + ": " + ec.message(), vitals::failure_kind::internal);
    }
    // A clock step can put mtime in the future: that is "fresh", not negative age.
    auto age = duration_cast<milliseconds>(fs::file_time_type::clock::now() - mtime);
    if (age.count() < 0) {
      age = milliseconds{0};
    }
    const std::string what = path + ": last modified " + human_duration(age) + " ago";
    vitals::result r =
        options_.max_age.count() > 0 && age > options_.max_age
            ? vitals::fail(what + ", older than " + human_duration(options_.max_age))
        : options_.warn_age.count() > 0 && age > options_.warn_age
            ? vitals::warn(what + ", older than " + human_duration(options_.warn_age))
            : vitals::pass();
    r.observe(static_cast<double>(age.count()) / 1000.0, "s");
    r.detail("path", path);
    return r;
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    const bool aged = options_.max_age.count() > 0 || options_.warn_age.count() > 0;
    return {.type = "file",
            .component_type = "system",
            .measurement = aged ? "age" : "exists",
            .dependency = false,
            .secrets = {}};
  }

 private:
  file_options options_;
};

}  // namespace

std::shared_ptr<vitals::check> file(file_options options) {
  if (options.path.empty()) {
    throw std::invalid_argument("file: path must not be empty");
  }
  if (options.max_age.count() < 0 || options.warn_age.count() < 0) {
    throw std::invalid_argument("file: warn_age and max_age must not be negative");
  }
  if (options.max_age.count() > 0 && options.warn_age.count() > 0 &&
      options.warn_age >= options.max_age) {
    throw std::invalid_argument("file: warn_age must be shorter than max_age");
  }
  return std::make_shared<file_check>(std::move(options));
}

}  // namespace vitals::checks
