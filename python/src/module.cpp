// vitals._vitals: the C++ engine, its check types and its handler, for Python (pybind11).
//
// The Python package (python/vitals/) holds the API people use; this module is its floor:
//   Check      a check object: a built-in type from its keys (make_builtin), from a URL, or a
//              Python callable (python_check), run by a Python thread of its own
//   Registry   vitals::registry (validation errors are ValueError with the registry's text)
//   Engine     vitals::service, shared with the handlers that serve it
//   Handler    vitals::http::handler: request in, (status, headers, body) out
// Every call that may wait on the engine releases the GIL; a request copies the cached body out
// of the handler and takes the GIL only to build the Python objects of the answer.

#include <Python.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/types.hpp"
#include "http/routes.hpp"
#include "schema/check_type.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/vitals.hpp"

namespace py = pybind11;
using namespace std::chrono_literals;

namespace {

/// pybind11's gil_scoped_release with a destructor that may throw. At interpreter exit,
/// PyEval_RestoreThread() ends a daemon thread that asks for the GIL back with pthread_exit();
/// its forced unwinding must be able to leave this destructor (pybind11's own is noexcept: that
/// would be std::terminate) and then pybind11's dispatcher, which rethrows it.
class gil_release {
 public:
  gil_release() : state_(PyEval_SaveThread()) {}
  ~gil_release() noexcept(false) { PyEval_RestoreThread(state_); }
  gil_release(const gil_release&) = delete;
  gil_release& operator=(const gil_release&) = delete;

 private:
  PyThreadState* state_;
};

/// Concatenation in one allocation.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

/// "a, b, c" of what `name` says of each item.
template <class Range, class Name>
std::string join(const Range& items, Name name) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += name(item);
  }
  return out;
}

vitals::result to_result(const py::handle& r) {
  if (r.is_none()) return vitals::pass();
  if (PyBool_Check(r.ptr()) != 0) {
    return r.cast<bool>() ? vitals::pass() : vitals::fail("check returned False");
  }
  if (py::isinstance<vitals::result>(r)) return r.cast<vitals::result>();
  return vitals::fail("check returned " +
                          py::str(py::type::of(r).attr("__name__")).cast<std::string>() +
                          "; expected None, a bool or a vitals result (vitals.ok(), vitals.warn(), "
                          "vitals.fail())",
                      vitals::failure_kind::internal);
}

// ---- Python checks and events: handed to Python threads, never run on the engine's ----------
//
// No engine thread ever takes the GIL. At interpreter exit Python ends every thread that tries
// to take it with pthread_exit(), whose unwinding must not cross the engine's frames (they catch
// everything a check may throw, and a swallowed forced unwind aborts the process). So a Python
// check is an async_check whose start() only posts the run to the check's own Python thread
// (vitals/_runner.py), which waits in job_box::next() with the GIL released, runs the callable
// and completes the run (holding the GIL: the engine never waits for it, so this cannot
// deadlock). One thread per Python check: runs never overlap (the engine's guarantee), so a
// check that never returns holds that thread and no other.

/// One run handed to Python: its deadline and the engine's completion, called exactly once.
class python_job {
 public:
  python_job(std::chrono::steady_clock::time_point deadline, vitals::async_check::completion done)
      : deadline_(deadline), done_(std::move(done)) {}
  [[nodiscard]] double remaining() const {
    return std::max(
        std::chrono::duration<double>(deadline_ - std::chrono::steady_clock::now()).count(), 0.0);
  }
  /// With the GIL (held: no engine thread ever waits for it, so completing cannot deadlock).
  void finish(const py::handle& value) { complete(to_result(value)); }
  void raised(const std::string& text) {
    complete(vitals::fail(text, vitals::failure_kind::internal));
  }
  void complete(vitals::result r) {
    vitals::async_check::completion done;
    {
      std::lock_guard lk(mu_);
      done.swap(done_);
    }
    if (done) done(std::move(r));
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::mutex mu_;
  vitals::async_check::completion done_;
};

/// The runs of one Python check, from the engine to its Python thread.
class job_box {
 public:
  void post(std::shared_ptr<python_job> job) {
    {
      std::lock_guard lk(mu_);
      if (!closed_) {
        pending_ = std::move(job);
        job = nullptr;
      }
    }
    if (job)
      job->complete(vitals::fail("the check's thread has stopped", vitals::failure_kind::internal));
    cv_.notify_one();
  }
  /// Blocks (the caller releases the GIL) until a run is posted; null once closed.
  std::shared_ptr<python_job> next() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return closed_ || pending_ != nullptr; });
    return std::exchange(pending_, nullptr);
  }
  void close() {
    std::shared_ptr<python_job> left;
    {
      std::lock_guard lk(mu_);
      closed_ = true;
      left = std::exchange(pending_, nullptr);
    }
    cv_.notify_all();
    if (left)
      left->complete(vitals::fail("the engine has stopped", vitals::failure_kind::internal));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<python_job> pending_;
  bool closed_ = false;
};

class python_check final : public vitals::async_check {
 public:
  python_check(std::shared_ptr<job_box> box, vitals::check_traits traits)
      : box_(std::move(box)), traits_(std::move(traits)) {}
  ~python_check() override { box_->close(); }  // its thread returns from next() and ends
  python_check(const python_check&) = delete;
  python_check& operator=(const python_check&) = delete;

  void start(std::shared_ptr<const vitals::context> ctx, completion done) override {
    box_->post(std::make_shared<python_job>(ctx->deadline(), std::move(done)));
  }
  [[nodiscard]] vitals::check_traits traits() const override { return traits_; }

 private:
  std::shared_ptr<job_box> box_;
  vitals::check_traits traits_;
};

/// The engine's events, from its threads to one Python thread (bounded: past 10,000 waiting, the
/// oldest are dropped and counted; a slow logger never slows the engine).
class event_box {
 public:
  static constexpr std::size_t capacity = 10'000;
  void push(const vitals::event& e) {
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      if (events_.size() == capacity) {
        events_.pop_front();
        ++dropped_;
      }
      events_.push_back(e);
    }
    cv_.notify_one();
  }
  /// Blocks (the caller releases the GIL) until an event arrives; nullopt once closed.
  std::optional<vitals::event> next() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return closed_ || !events_.empty(); });
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  void close() {
    {
      std::lock_guard lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  [[nodiscard]] std::uint64_t dropped() const {
    std::lock_guard lk(mu_);
    return dropped_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<vitals::event> events_;
  std::uint64_t dropped_ = 0;
  bool closed_ = false;
};

struct check_handle {
  std::shared_ptr<vitals::check> impl;
  std::string type;
};

// ---- built-in types from keyword arguments ---------------------------------------------------

const vitals::schema::check_type& find_type(const std::string& name) {
  for (const auto& t : vitals::checks::builtin_types()) {
    if (t.name() == name) return t;
  }
  const auto all = join(vitals::checks::builtin_types(), [](const auto& t) { return t.name(); });
  throw py::value_error(cat({"unknown check type '", name, "' (types: ", all, ")"}));
}

std::chrono::milliseconds to_duration(const py::handle& v, const std::string& where) {
  static const py::object timedelta = py::module_::import("datetime").attr("timedelta");
  double seconds = 0;
  if (py::isinstance(v, timedelta)) {
    seconds = v.attr("total_seconds")().cast<double>();
  } else if ((PyLong_Check(v.ptr()) != 0 || PyFloat_Check(v.ptr()) != 0) &&
             PyBool_Check(v.ptr()) == 0) {
    seconds = v.cast<double>();
  } else {
    throw py::type_error(where + ": expected a datetime.timedelta or a number of seconds");
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) {
    throw py::value_error(where + ": must be a non-negative duration");
  }
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(seconds * 1000))};
}

std::string type_name(const py::handle& v) {
  return py::str(py::type::of(v).attr("__name__")).cast<std::string>();
}

/// One keyword argument, converted to its key's kind. Never echoes a value (secrets).
vitals::schema::value to_value(const vitals::schema::key_spec& k, const py::handle& v,
                               const std::string& where) {
  using vitals::schema::value_kind;
  auto expect = [&](const char* what) {
    return py::type_error(where + ": expected " + what + ", got " + type_name(v));
  };
  const bool is_bool = PyBool_Check(v.ptr()) != 0;
  const bool is_int = PyLong_Check(v.ptr()) != 0 && !is_bool;
  auto in_bounds = [&](double x) {
    if ((k.flags.min && x < *k.flags.min) || (k.flags.max && x > *k.flags.max)) {
      std::string range = k.flags.min ? std::to_string(static_cast<std::int64_t>(*k.flags.min))
                                      : std::string{"-inf"};
      range += "..";
      range += k.flags.max ? std::to_string(static_cast<std::int64_t>(*k.flags.max))
                           : std::string{"inf"};
      throw py::value_error(where + ": out of range (" + range + ")");
    }
  };
  switch (k.kind) {
    case value_kind::string: {
      if (!py::isinstance<py::str>(v)) throw expect("a str");
      auto s = v.cast<std::string>();
      if (!k.choices.empty()) {
        if (std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end()) {
          const auto all = join(k.choices, [](const std::string& c) { return c; });
          throw py::value_error(cat({where, ": must be one of ", all}));
        }
      }
      return s;
    }
    case value_kind::integer: {
      if (!is_int) throw expect("an int");
      auto n = v.cast<std::int64_t>();
      in_bounds(static_cast<double>(n));
      return n;
    }
    case value_kind::number: {
      if (!is_int && PyFloat_Check(v.ptr()) == 0) throw expect("a number");
      auto x = v.cast<double>();
      in_bounds(x);
      return x;
    }
    case value_kind::boolean:
      if (!is_bool) throw expect("a bool");
      return v.cast<bool>();
    case value_kind::duration:
      return to_duration(v, where);
    case value_kind::string_list: {
      if (py::isinstance<py::str>(v) || !py::isinstance<py::sequence>(v)) {
        throw expect("a list of str");
      }
      std::vector<std::string> out;
      for (auto item : v) {
        if (!py::isinstance<py::str>(item)) throw expect("a list of str");
        auto s = item.cast<std::string>();
        if (!k.choices.empty() &&
            std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end()) {
          throw py::value_error(cat({where, ": '", s, "' is not an allowed value"}));
        }
        out.push_back(std::move(s));
      }
      return out;
    }
    case value_kind::integer_list: {
      if (py::isinstance<py::str>(v) || !py::isinstance<py::sequence>(v)) {
        throw expect("a list of int");
      }
      std::vector<std::int64_t> out;
      for (auto item : v) {
        if (PyLong_Check(item.ptr()) == 0 || PyBool_Check(item.ptr()) != 0) {
          throw expect("a list of int");
        }
        out.push_back(item.cast<std::int64_t>());
        in_bounds(static_cast<double>(out.back()));
      }
      return out;
    }
    case value_kind::string_map: {
      if (!py::isinstance<py::dict>(v)) throw expect("a dict of str to str");
      vitals::schema::string_pairs out;
      for (auto [key, val] : v.cast<py::dict>()) {
        if (!py::isinstance<py::str>(key) || !py::isinstance<py::str>(val)) {
          throw expect("a dict of str to str");
        }
        out.emplace_back(key.cast<std::string>(), val.cast<std::string>());
      }
      return out;
    }
  }
  throw py::type_error(where + ": unsupported key kind");
}

check_handle make_builtin(const std::string& type, const py::dict& kwargs) {
  const auto& t = find_type(type);
  const auto& section = t.spec.section;
  auto options = t.spec.make_options();
  std::set<std::string> given;
  for (auto [key, val] : kwargs) {
    auto name = key.cast<std::string>();
    const auto* k = section.find(name);
    if (k == nullptr) {
      const auto all = join(section.keys, [](const auto& spec) { return spec.name; });
      throw py::type_error(cat({"vitals.checks.", type, "() got an unexpected keyword argument '",
                                name, "' (keys: ", all, ")"}));
    }
    if (val.is_none()) continue;  // None = the key's default
    const auto where = cat({"vitals.checks.", type, "(", name, "=...)"});
    auto value = to_value(*k, val, where);
    try {
      k->apply(options.get(), value);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(where + ": " + e.what());
    }
    given.insert(name);
  }
  for (const auto& k : section.keys) {
    if (k.flags.required && given.count(k.name) == 0) {
      throw py::type_error("vitals.checks." + type + "() missing required keyword argument '" +
                           k.name + "'");
    }
  }
  try {
    return {t.spec.make_check(options.get()), type};
  } catch (const std::invalid_argument& e) {
    throw py::value_error("vitals.checks." + type + "(): " + e.what());
  }
}

check_handle make_from_url(const std::string& url) {
  const auto colon = url.find("://");
  std::string scheme = colon == std::string::npos ? std::string{} : url.substr(0, colon);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto* t = vitals::checks::type_for_scheme(scheme);
  if (t == nullptr) {
    throw py::value_error("vitals.checks.from_url(): no check type for this URL (schemes: " +
                          vitals::checks::all_schemes(", ") + ")");
  }
  try {
    return {t->from_url(url), t->name()};
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string{"vitals.checks.from_url(): "} + e.what());
  }
}

/// Every key of every built-in type: what vitals/checks.py turns into functions and the stub.
py::list describe_types() {
  py::list out;
  const char* kinds[] = {"str",      "int",       "float",     "bool",
                         "duration", "list[str]", "list[int]", "dict[str, str]"};
  for (const auto& t : vitals::checks::builtin_types()) {
    py::list keys;
    for (const auto& k : t.spec.section.keys) {
      py::dict d;
      d["name"] = k.name;
      d["kind"] = kinds[static_cast<int>(k.kind)];
      d["doc"] = k.doc;
      d["required"] = k.flags.required;
      d["secret"] = k.flags.secret;
      d["choices"] = k.choices;
      keys.append(d);
    }
    py::dict d;
    d["name"] = t.name();
    d["summary"] = t.summary();
    d["schemes"] = t.schemes;
    d["process_local"] = t.process_local;
    d["keys"] = keys;
    out.append(d);
  }
  return out;
}

// ---- the engine ----------------------------------------------------------------------------

struct engine_handle {
  std::shared_ptr<vitals::service> svc;
  std::shared_ptr<event_box> events;

  engine_handle(std::shared_ptr<vitals::service> s, std::shared_ptr<event_box> e)
      : svc(std::move(s)), events(std::move(e)) {}
  engine_handle(engine_handle&&) noexcept = default;
  engine_handle& operator=(engine_handle&&) noexcept = default;
  engine_handle(const engine_handle&) = delete;
  engine_handle& operator=(const engine_handle&) = delete;
  ~engine_handle() {
    svc.reset();  // stops it: its Python checks' threads leave next()
    if (events) events->close();
  }
};

py::dict state_dict(const vitals::check_state& c) {
  py::dict d;
  d["name"] = c.name;
  d["type"] = c.traits.type;
  d["status"] = c.reported.status;
  d["kind"] = c.reported.kind;
  d["output"] = c.reported.output;
  d["runs"] = c.runs;
  d["timeouts"] = c.timeouts;
  d["transitions"] = c.transitions;
  d["in_flight"] = c.in_flight;
  d["duration"] = std::chrono::duration<double>(c.reported.duration).count();
  return d;
}

vitals::http::detail_policy detail_policy_of(const std::string& s) {
  if (s == "authorized") return vitals::http::detail_policy::authorized;
  if (s == "everyone") return vitals::http::detail_policy::everyone;
  if (s == "nobody") return vitals::http::detail_policy::nobody;
  throw py::value_error("details: must be 'authorized', 'everyone' or 'nobody'");
}

vitals::http::metrics_policy metrics_policy_of(const std::string& s) {
  if (s == "details") return vitals::http::metrics_policy::details;
  if (s == "everyone") return vitals::http::metrics_policy::everyone;
  if (s == "authorized") return vitals::http::metrics_policy::authorized;
  if (s == "off") return vitals::http::metrics_policy::off;
  throw py::value_error("metrics: must be 'details', 'everyone', 'authorized' or 'off'");
}

/// The paths the handler answers (its route table), under no prefix: "/livez", "/readyz", ...
std::vector<std::string> route_roots() {
  std::vector<std::string> out;
  for (const auto& r : vitals::http::detail::default_routes()) {
    std::string p{r.path};
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return out;
}

struct handler_handle {
  std::unique_ptr<vitals::http::handler> h;
};

}  // namespace

PYBIND11_MODULE(_vitals, m) {
  m.doc() = "The vitals engine (C++), for the vitals package: use `import vitals`.";

  py::enum_<vitals::status>(m, "Status", "Health status, best to worst.")
      .value("PASS", vitals::status::pass)
      .value("WARN", vitals::status::warn)
      .value("FAIL", vitals::status::fail)
      .value("UNKNOWN", vitals::status::unknown);

  py::enum_<vitals::failure_kind>(m, "FailureKind", "Why a check failed (a closed set).")
      .value("NONE", vitals::failure_kind::none)
      .value("TIMEOUT", vitals::failure_kind::timeout)
      .value("REFUSED", vitals::failure_kind::refused)
      .value("DNS", vitals::failure_kind::dns)
      .value("TLS", vitals::failure_kind::tls)
      .value("AUTH", vitals::failure_kind::auth)
      .value("PROTOCOL", vitals::failure_kind::protocol)
      .value("ASSERTION", vitals::failure_kind::assertion)
      .value("INTERNAL", vitals::failure_kind::internal)
      .value("STALE", vitals::failure_kind::stale);

  py::class_<vitals::result>(m, "Result", "The outcome of one run: vitals.ok(), warn(), fail().")
      .def_readonly("status", &vitals::result::status)
      .def_readonly("output", &vitals::result::output)
      .def_readonly("kind", &vitals::result::kind)
      .def_property_readonly("observed",
                             [](const vitals::result& r) -> py::object {
                               if (!r.observed) return py::none();
                               return std::visit([](const auto& v) { return py::cast(v); },
                                                 r.observed->value);
                             })
      .def_property_readonly(
          "unit", [](const vitals::result& r) { return r.observed ? r.observed->unit : ""; })
      .def_readonly("details", &vitals::result::details)
      .def(
          "observe",
          [](vitals::result& r, const py::object& v, std::string unit) -> vitals::result& {
            if (PyBool_Check(v.ptr()) != 0) {
              r.observed = vitals::observation{.value = v.cast<bool>(), .unit = std::move(unit)};
            } else if (PyLong_Check(v.ptr()) != 0) {
              r.observe(v.cast<std::int64_t>(), std::move(unit));
            } else if (PyFloat_Check(v.ptr()) != 0) {
              r.observe(v.cast<double>(), std::move(unit));
            } else if (py::isinstance<py::str>(v)) {
              r.observe(v.cast<std::string>(), std::move(unit));
            } else {
              throw py::type_error("observe(): expected an int, float, bool or str");
            }
            return r;
          },
          py::arg("value"), py::arg("unit") = "", py::return_value_policy::reference_internal,
          "Records an observed value (IETF observedValue / observedUnit); returns the result.")
      .def(
          "detail",
          [](vitals::result& r, std::string key, std::string value) -> vitals::result& {
            return r.detail(std::move(key), std::move(value));
          },
          py::arg("key"), py::arg("value"), py::return_value_policy::reference_internal,
          "Adds a detail (shown with the token; keys naming secrets are masked).")
      .def("__repr__", [](const vitals::result& r) {
        std::string s = "<vitals.Result " + std::string{vitals::to_string(r.status)};
        if (r.kind != vitals::failure_kind::none) s += "/" + std::string{vitals::to_string(r.kind)};
        if (!r.output.empty()) s += " " + py::repr(py::str(r.output)).cast<std::string>();
        return s + ">";
      });

  m.def(
      "ok", [] { return vitals::pass(); }, "A passing result.");
  m.def("warn", &vitals::warn, py::arg("output"),
        "A warning: the probe stays up but the check reports a concern.");
  m.def(
      "fail",
      [](std::string output, vitals::failure_kind kind) {
        return vitals::fail(std::move(output), kind);
      },
      py::arg("output"), py::arg("kind") = vitals::failure_kind::assertion, "A failure.");

  py::class_<check_handle>(m, "Check", "A check the engine can run.")
      .def_readonly("type", &check_handle::type)
      .def_property_readonly("dependency",
                             [](const check_handle& c) { return c.impl->traits().dependency; })
      .def("__repr__", [](const check_handle& c) { return "<vitals check " + c.type + ">"; });

  m.def("make_builtin", &make_builtin, py::arg("type"), py::arg("kwargs"));
  m.def("make_from_url", &make_from_url, py::arg("url"));
  m.def("describe_types", &describe_types);
  py::class_<python_job, std::shared_ptr<python_job>>(m, "Job",
                                                      "One run of a Python check, for its thread.")
      .def_property_readonly("remaining", &python_job::remaining,
                             "Seconds left before the deadline.")
      .def("finish", &python_job::finish, py::arg("value"))
      .def("raised", &python_job::raised, py::arg("text"));
  py::class_<job_box, std::shared_ptr<job_box>>(m, "JobBox")
      .def(py::init<>())
      .def("next", &job_box::next, py::call_guard<gil_release>())
      .def("close", &job_box::close, py::call_guard<gil_release>());
  m.def(
      "python_check",
      [](std::shared_ptr<job_box> box, std::string type, std::string component_type,
         bool dependency, std::vector<std::string> secrets) {
        vitals::check_traits traits{.type = type,
                                    .component_type = std::move(component_type),
                                    .dependency = dependency,
                                    .secrets = std::move(secrets)};
        return check_handle{std::make_shared<python_check>(std::move(box), std::move(traits)),
                            std::move(type)};
      },
      py::arg("box"), py::arg("type"), py::arg("component_type"), py::arg("dependency"),
      py::arg("secrets"));

  py::class_<vitals::registry>(m, "Registry")
      .def(py::init<>())
      .def(
          "add",
          [](vitals::registry& reg, std::string name, const check_handle& c, int probes,
             bool critical, bool on_demand, const py::object& interval, const py::object& timeout,
             const py::object& initial_delay, double jitter, const py::object& ttl_pass,
             const py::object& ttl_fail, const py::object& max_staleness, int failure_threshold,
             int success_threshold, bool allow_in_live, std::string component_type,
             std::string measurement) {
            vitals::check_options o;
            o.probes = vitals::probe_set{};
            for (auto p : {vitals::probe::live, vitals::probe::ready, vitals::probe::startup}) {
              if ((probes & static_cast<int>(p)) != 0) o.probes |= p;
            }
            o.critical = critical;
            o.mode = on_demand ? vitals::schedule::on_demand : vitals::schedule::background;
            o.interval = to_duration(interval, "interval");
            o.timeout = to_duration(timeout, "timeout");
            o.initial_delay = to_duration(initial_delay, "initial_delay");
            o.jitter = jitter;
            o.ttl_pass = to_duration(ttl_pass, "ttl_pass");
            o.ttl_fail = to_duration(ttl_fail, "ttl_fail");
            o.max_staleness = to_duration(max_staleness, "max_staleness");
            o.failure_threshold = failure_threshold;
            o.success_threshold = success_threshold;
            o.allow_in_live = allow_in_live;
            o.component_type = std::move(component_type);
            o.measurement = std::move(measurement);
            reg.add(std::move(name), c.impl, std::move(o));  // invalid_argument → ValueError
          },
          py::arg("name"), py::arg("check"), py::arg("probes"), py::arg("critical"),
          py::arg("on_demand"), py::arg("interval"), py::arg("timeout"), py::arg("initial_delay"),
          py::arg("jitter"), py::arg("ttl_pass"), py::arg("ttl_fail"), py::arg("max_staleness"),
          py::arg("failure_threshold"), py::arg("success_threshold"), py::arg("allow_in_live"),
          py::arg("component_type"), py::arg("measurement"))
      .def("__len__", &vitals::registry::size);

  py::class_<engine_handle>(m, "Engine")
      .def(py::init([](vitals::registry& reg, std::string service_id, std::string version,
                       std::string description, std::size_t max_threads, bool self_check) {
             vitals::service_options o;
             o.info = {.service_id = std::move(service_id),
                       .version = std::move(version),
                       .description = std::move(description)};
             o.max_threads = max_threads;
             auto events = std::make_shared<event_box>();
             o.on_event = [events](const vitals::event& e) { events->push(e); };
             o.self_check = self_check;
             return engine_handle{std::make_shared<vitals::service>(std::move(reg), std::move(o)),
                                  std::move(events)};
           }),
           py::arg("registry"), py::arg("service_id"), py::arg("version"), py::arg("description"),
           py::arg("max_threads"), py::arg("self_check"))
      .def(
          "next_event",
          [](engine_handle& e) -> py::object {
            std::optional<vitals::event> ev;
            {
              gil_release nogil;
              ev = e.events->next();
            }
            if (!ev) return py::none();
            static const char* types[] = {"transition", "timeout", "late_result", "shutdown",
                                          "error"};
            return py::make_tuple(types[static_cast<int>(ev->what)], ev->check, ev->from, ev->to,
                                  ev->kind, ev->message);
          },
          "The next event (what, check, before, after, kind, message), waiting without the GIL; "
          "None once the engine is closed.")
      .def(
          "close_events", [](engine_handle& e) { e.events->close(); },
          py::call_guard<gil_release>())
      .def_property_readonly("events_dropped",
                             [](const engine_handle& e) { return e.events->dropped(); })
      .def(
          "start", [](engine_handle& e) { e.svc->start(); }, py::call_guard<gil_release>())
      .def(
          "stop", [](engine_handle& e) { e.svc->stop(); }, py::call_guard<gil_release>())
      .def(
          "begin_shutdown", [](engine_handle& e) { e.svc->begin_shutdown(); },
          py::call_guard<gil_release>())
      .def_property_readonly("shutting_down",
                             [](const engine_handle& e) { return e.svc->shutting_down(); })
      .def("probe_status",
           [](const engine_handle& e, int p) {
             std::shared_ptr<const vitals::snapshot> snap;
             {
               gil_release nogil;
               snap = e.svc->current();
             }
             return snap->probe_status(static_cast<vitals::probe>(p));
           })
      .def("overall_status",
           [](const engine_handle& e) {
             std::shared_ptr<const vitals::snapshot> snap;
             {
               gil_release nogil;
               snap = e.svc->current();
             }
             return snap->overall_status();
           })
      .def_property_readonly("generation",
                             [](const engine_handle& e) {
                               gil_release nogil;
                               return e.svc->current()->generation;
                             })
      .def("checks",
           [](const engine_handle& e) {
             std::shared_ptr<const vitals::snapshot> snap;
             {
               gil_release nogil;
               snap = e.svc->current();
             }
             py::list out;
             for (const auto& c : snap->checks) out.append(state_dict(c));
             return out;
           })
      .def(
          "wait_for_update",
          [](const engine_handle& e, std::uint64_t generation, double timeout) {
            return e.svc->wait_for_update(
                generation, std::chrono::milliseconds{static_cast<std::int64_t>(timeout * 1000)});
          },
          py::arg("generation"), py::arg("timeout"), py::call_guard<gil_release>())
      .def("stats",
           [](const engine_handle& e) {
             vitals::engine_stats s;
             {
               gil_release nogil;
               s = e.svc->stats();
             }
             py::dict d;
             d["checks"] = s.checks;
             d["in_flight"] = s.in_flight;
             d["pool_threads"] = s.pool_threads;
             d["pool_max_threads"] = s.pool_max_threads;
             d["results"] = s.results;
             return d;
           })
      .def("abandon", [](engine_handle& e) {
        // After fork(): the engine's threads stayed in the parent and its locks may be
        // held by them. The child never touches it again, not even to destroy it.
        new std::shared_ptr<vitals::service>(std::move(e.svc));  // NOLINT: leaked on purpose
        new std::shared_ptr<event_box>(std::move(e.events));     // NOLINT: its lock too
        e.svc = nullptr;
      });

  m.def("route_roots", &route_roots);

  py::class_<handler_handle>(m, "Handler")
      .def(py::init([](engine_handle& e, std::string token, const std::string& details,
                       std::string prefix, const std::string& metrics,
                       std::tuple<int, int, int, int> codes) {
             vitals::http::handler_options o;
             o.token = std::move(token);
             o.details = detail_policy_of(details);
             o.prefix = std::move(prefix);
             o.metrics = metrics_policy_of(metrics);
             o.codes = {std::get<0>(codes), std::get<1>(codes), std::get<2>(codes),
                        std::get<3>(codes)};
             return handler_handle{std::make_unique<vitals::http::handler>(e.svc, std::move(o))};
           }),
           py::arg("engine"), py::arg("token"), py::arg("details"), py::arg("prefix"),
           py::arg("metrics"), py::arg("codes"))
      .def(
          "handle",
          [](const handler_handle& h, std::string_view method, std::string_view target,
             std::string_view authorization, std::string_view accept) {
            vitals::http::response r;
            {
              gil_release nogil;
              std::vector<vitals::http::header> headers;
              if (!authorization.empty()) headers.push_back({"Authorization", authorization});
              if (!accept.empty()) headers.push_back({"Accept", accept});
              r = h.h->handle({.method = method, .target = target, .headers = headers});
            }
            py::list headers;
            for (auto& [name, value] : r.headers) headers.append(py::make_tuple(name, value));
            return py::make_tuple(r.status, headers, py::bytes(r.body), r.content_length);
          },
          py::arg("method"), py::arg("target"), py::arg("authorization") = "",
          py::arg("accept") = "")
      .def(
          "rebind", [](handler_handle& h, engine_handle& e) { h.h->rebind(e.svc); },
          py::call_guard<gil_release>());
}
