#include "vitals/checks/process.hpp"

#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace vitals::checks {
namespace {

std::optional<std::string> slurp(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

class process_check final : public vitals::check {
 public:
  explicit process_check(process_options options) : options_(std::move(options)) {}

  vitals::result run(const vitals::context&) override {
    int pid = options_.pid;
    std::string origin = "pid " + std::to_string(pid);
    if (pid <= 0) {
      // 64 bytes is plenty for a pid; a huge file is not a pid file.
      auto text = slurp(options_.pid_file, 64);
      if (!text) {
        return vitals::fail("pid file " + options_.pid_file + " does not exist or is unreadable");
      }
      const std::string_view digits = trim(*text);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      if (ec != std::errc{} || end != digits.data() + digits.size() || pid <= 0) {
        return vitals::fail("pid file " + options_.pid_file + " holds no pid",
                            vitals::failure_kind::protocol);
      }
      origin = "pid " + std::to_string(pid) + " (from " + options_.pid_file + ")";
    }

    const std::string dir = options_.proc_root + "/" + std::to_string(pid);
    auto stat = slurp(dir + "/stat", 4096);
    if (!stat) {
      return vitals::fail(origin + " is not running").observe(pid);
    }
    // "pid (comm) S ...": comm may itself hold spaces and parentheses, so take the last ')'.
    const auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) {
      return vitals::fail("cannot parse " + dir + "/stat", vitals::failure_kind::internal);
    }
    const char state = (*stat)[close + 2];
    if (state == 'Z' || state == 'X' || state == 'x') {
      return vitals::fail(origin + " is a zombie (exited, not reaped)").observe(pid);
    }

    std::string comm;
    if (auto text = slurp(dir + "/comm", 256)) {
      comm = std::string(trim(*text));
    }
    // The kernel keeps only the first 15 bytes of the program name in comm.
    if (!options_.name.empty() && comm != std::string_view(options_.name).substr(0, 15)) {
      return vitals::fail(origin + " is " + quoted(comm) + ", expected " + quoted(options_.name))
          .observe(pid);
    }
    return vitals::pass().observe(pid).detail("name", comm).detail("state", std::string(1, state));
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "process",
            .component_type = "system",
            .measurement = "alive",
            .dependency = false,
            .secrets = {}};
  }

 private:
  process_options options_;
};

}  // namespace

std::shared_ptr<vitals::check> process(process_options options) {
  if (options.pid < 0 || (options.pid == 0 && options.pid_file.empty())) {
    throw std::invalid_argument("process: set pid_file or a positive pid");
  }
  if (options.proc_root.empty()) {
    throw std::invalid_argument("process: proc_root must not be empty");
  }
  return std::make_shared<process_check>(std::move(options));
}

}  // namespace vitals::checks
