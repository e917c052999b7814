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

#include "base/format.hpp"

namespace vitals::checks {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

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
    const std::string what = path + ": last modified " + base::format_duration(age) + " ago";
    vitals::result r =
        options_.max_age.count() > 0 && age > options_.max_age
            ? vitals::fail(what + ", older than " + base::format_duration(options_.max_age))
        : options_.warn_age.count() > 0 && age > options_.warn_age
            ? vitals::warn(what + ", older than " + base::format_duration(options_.warn_age))
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
