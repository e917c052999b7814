#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/registry.hpp"
#include "vitals/result.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// What a check's runs have done since it was registered: counted by the engine as results
/// arrive, carried across a vitalsd reload with the rest of the state, exported by `/metrics`.
/// A run is a completed call of the check or a timeout enforced by the runner; refreshes of a
/// hung run and staleness are reported failures, not runs.
struct run_counters {
  /// Finite upper bounds (seconds) of the duration histogram: those below the check's timeout,
  /// then the timeout itself (see duration_bounds()).
  static constexpr std::array<double, 16> standard_bounds{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  static constexpr std::size_t max_buckets = standard_bounds.size() + 2;  ///< + timeout, +Inf

  /// Runs by result: [pass, warn, fail].
  std::array<std::uint64_t, 3> by_result{};
  /// Failed runs by failure kind (index: the kind's value; `none` stays 0).
  std::array<std::uint64_t, 10> by_kind{};
  /// Runs per histogram bucket (not cumulative): bucket i counts durations in
  /// (bound[i-1], bound[i]] of duration_bounds(timeout); the last used one is +Inf.
  std::array<std::uint64_t, max_buckets> duration_buckets{};
  std::chrono::nanoseconds duration_sum{0};
  /// Results that arrived after the runner had already timed the run out (discarded).
  std::uint64_t late_results = 0;
  /// Wall time of the latest passing run (epoch if none yet).
  std::chrono::system_clock::time_point last_pass{};

  /// Counts one run of `duration` with this result.
  void count(const result& r, std::chrono::milliseconds timeout) noexcept;
  friend bool operator==(const run_counters&, const run_counters&) = default;
};

/// The finite bounds of a check's duration histogram, in seconds: the standard bounds below
/// `timeout`, then `timeout` (at most run_counters::max_buckets - 1 values).
///
///     duration_bounds(2s) == {0.001, 0.0025, ..., 1, 2}
[[nodiscard]] std::vector<double> duration_bounds(std::chrono::milliseconds timeout);

/// The reported state of one check at one moment. Part of an immutable snapshot.
struct check_state {
  std::string name{};
  check_traits traits;    ///< type, component type, measurement (secrets cleared)
  check_options options;  ///< as registered
  /// What is reported: after thresholds and staleness. Before the first result its status is
  /// `unknown`. A stale or hung check reports `fail` with kind `stale` / `timeout`.
  result reported{};
  /// The latest raw result of a run (before thresholds); `unknown` before the first run.
  result last_run{};
  std::uint32_t consecutive_failures = 0;
  std::uint32_t consecutive_successes = 0;
  std::uint64_t runs = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t transitions = 0;  ///< changes of reported status, counted once each
  run_counters counters{};
  bool in_flight = false;
  /// How late the latest run started after it was due (the engine's own delay: overload, a
  /// busy pool), never counted against the check's timeout.
  std::chrono::nanoseconds lag{0};
  /// Steady time after which `reported` must be treated as stale.
  std::chrono::steady_clock::time_point stale_at{};
};

/// Service-level information shown in `/health` (IETF draft fields).
struct service_info {
  std::string service_id{};
  std::string version{};
  std::string release_id{};
  std::string description{};
};

/// The checks of a snapshot, in registration order: an immutable sequence that reads like a
/// `std::vector<check_state>` (`size()`, `[i]`, range-for, `find(name)`).
///
/// Structurally shared: consecutive snapshots share every check that did not change, so the
/// engine publishes in O(changed checks), not O(all checks). A snapshot's states are owned by
/// the snapshot as a whole (one reference count for all of them, not one per check), so a
/// publication never touches the states it does not change. Built by hand (tests, tools) from
/// an initializer list or a vector.
///
///     for (const vitals::check_state& c : snap->checks) use(c.name, c.reported.status);
class check_list {
 public:
  /// Checks per shared block: a publication copies one block per changed check plus one
  /// pointer per block.
  static constexpr std::size_t block_size = 64;
  /// One version of a block of consecutive checks (engine internals: shared, never modified
  /// once published).
  struct block {
    std::array<const check_state*, block_size> at{};
  };
  using name_index = std::vector<std::pair<std::string, std::uint32_t>>;

  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = check_state;
    using difference_type = std::ptrdiff_t;
    using pointer = const check_state*;
    using reference = const check_state&;
    iterator() = default;
    iterator(const check_list* list, std::size_t i) : list_(list), i_(i) {}
    reference operator*() const { return (*list_)[i_]; }
    pointer operator->() const { return &(*list_)[i_]; }
    reference operator[](difference_type n) const {
      return (*list_)[i_ + static_cast<std::size_t>(n)];
    }
    iterator& operator++() { return ++i_, *this; }
    iterator operator++(int) {
      auto t = *this;
      return ++i_, t;
    }
    iterator& operator--() { return --i_, *this; }
    iterator operator--(int) {
      auto t = *this;
      return --i_, t;
    }
    iterator& operator+=(difference_type n) {
      i_ = static_cast<std::size_t>(static_cast<difference_type>(i_) + n);
      return *this;
    }
    iterator& operator-=(difference_type n) { return *this += -n; }
    friend iterator operator+(iterator a, difference_type n) { return a += n; }
    friend iterator operator+(difference_type n, iterator a) { return a += n; }
    friend iterator operator-(iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const iterator& a, const iterator& b) {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const iterator& a, const iterator& b) { return a.i_ <=> b.i_; }

   private:
    const check_list* list_ = nullptr;
    std::size_t i_ = 0;
  };
  using const_iterator = iterator;
  using value_type = check_state;
  using size_type = std::size_t;

  check_list() = default;
  check_list(std::initializer_list<check_state> states);  // NOLINT: reads like a vector
  explicit check_list(std::vector<check_state> states);
  /// For the engine: `blocks` (one per block_size checks) stays valid, with every block and
  /// state it reaches, as long as `owner` lives; `index` is the (shared, immutable) name index.
  check_list(const block* const* blocks, std::size_t size, std::shared_ptr<const name_index> index,
             std::shared_ptr<const void> owner);

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] const check_state& operator[](std::size_t i) const noexcept {
    return *blocks_[i / block_size]->at[i % block_size];
  }
  [[nodiscard]] const check_state& front() const noexcept { return (*this)[0]; }
  [[nodiscard]] const check_state& back() const noexcept { return (*this)[size_ - 1]; }
  [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] iterator end() const noexcept { return {this, size_}; }
  /// Position of the check of that name (O(log n)), or `size()`.
  [[nodiscard]] std::size_t index_of(std::string_view name) const noexcept;
  /// Check `i`, kept alive on its own: the pointer shares the ownership of the whole list, so
  /// hold it briefly (a reload's hand-over), not for ever.
  [[nodiscard]] std::shared_ptr<const check_state> shared(std::size_t i) const noexcept {
    return {owner_, &(*this)[i]};
  }
  /// The blocks, for tests of the structural sharing: `block_count()` of them.
  [[nodiscard]] std::size_t block_count() const noexcept {
    return (size_ + block_size - 1) / block_size;
  }
  [[nodiscard]] const block* block_at(std::size_t b) const noexcept { return blocks_[b]; }

 private:
  const block* const* blocks_ = nullptr;
  std::size_t size_ = 0;
  /// (name, position), sorted by name.
  std::shared_ptr<const name_index> index_{};
  std::shared_ptr<const void> owner_{};
};

/// How the checks of one probe stand, counted by the engine as results arrive, so that a
/// probe's status is O(1) to read whatever the number of checks.
struct probe_tally {
  std::uint32_t checks = 0;            ///< checks in this probe
  std::uint32_t critical_unknown = 0;  ///< critical checks not checked yet
  std::uint32_t critical_fail = 0;
  std::uint32_t critical_warn = 0;
  std::uint32_t other_not_pass = 0;  ///< non-critical checks that are not `pass`
  friend bool operator==(const probe_tally&, const probe_tally&) = default;
  /// Counts (sign +1) or uncounts (-1) one check.
  void count(const check_state& c, int sign) noexcept {
    count(c.reported.status, c.options.critical, sign);
  }
  /// Same, from a check's reported status and criticality alone.
  void count(status reported, bool critical, int sign) noexcept;
  /// Aggregated status: critical unknown > critical fail > any warn or non-critical problem.
  [[nodiscard]] status aggregate() const noexcept;
};

/// An immutable picture of every check. Endpoints read the latest one (an atomic pointer load)
/// and never run a check themselves. A new snapshot is published whenever anything changes
/// (batched: at most one per `service_options::publish_interval`); `generation` increases with
/// each, so renderers can cache per generation.
struct snapshot {
  std::uint64_t generation = 0;
  check_list checks{};
  service_info info{};
  bool shutting_down = false;
  /// True once every startup check has passed; stays true for the process lifetime.
  bool startup_latched = false;
  /// Earliest `stale_at` of all checks: past it, this snapshot may tell a stale story and the
  /// reader must ask the service for a fresh one (`service::current()` does it for you).
  std::chrono::steady_clock::time_point valid_until = std::chrono::steady_clock::time_point::max();
  /// Per probe (live, ready, startup) and over all checks (index 3): maintained by the engine.
  /// `tallied` is false in a snapshot built by hand; its aggregates are then computed by
  /// walking the checks.
  std::array<probe_tally, 4> tallies{};
  bool tallied = false;

  /// Aggregated status of a probe: critical fail/unknown → that status; non-critical fail or
  /// unknown → warn; a probe with no checks passes. In `live`, a critical check without a result
  /// yet does not count (liveness never fails because the process is young). `ready` fails while
  /// shutting down; `startup` passes once latched. O(1) in an engine snapshot.
  [[nodiscard]] status probe_status(probe p) const noexcept;
  /// Same, ignoring the checks named in `excluded` (O(excluded × log n)).
  [[nodiscard]] status probe_status(probe p,
                                    const std::vector<std::string_view>& excluded) const noexcept;
  /// Worst status over every check in at least one probe (non-critical problems count as warn;
  /// monitored targets, in no probe, do not count), `fail` while shutting down: `/health`.
  [[nodiscard]] status overall_status() const noexcept;
  /// The check of that name, or nullptr (O(log n)).
  [[nodiscard]] const check_state* find(std::string_view name) const noexcept;
};

/// The tally slot of a probe in `snapshot::tallies`.
[[nodiscard]] constexpr std::size_t tally_index(probe p) noexcept {
  return p == probe::live ? 0 : p == probe::ready ? 1 : 2;
}
/// `snapshot::tallies` slot counting every check of the service whatever its probes: every check
/// for which counts_in_service() holds.
inline constexpr std::size_t all_checks_tally = 3;
/// A check in at least one probe is a part of this service (its status counts in `/health`'s top
/// level); one in none is a monitored target.
[[nodiscard]] inline bool counts_in_service(const check_options& o) noexcept {
  return !o.probes.empty();
}

}  // namespace vitals
