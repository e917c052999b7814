#include "vitals/snapshot.hpp"

#include <algorithm>

namespace vitals {
namespace {

using name_index = check_list::name_index;

std::shared_ptr<const name_index> index_names(const check_list& list) {
  auto index = std::make_shared<name_index>();
  index->reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i)
    index->emplace_back(list[i].name, static_cast<std::uint32_t>(i));
  // Stable: with duplicate names (only possible in a hand-built list) the first one wins, as a
  // linear search would find it.
  std::stable_sort(index->begin(), index->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return index;
}

// Liveness never fails because the process is young: a critical live check without a result
// yet does not count (readiness and startup keep failing until their first results).
status aggregate_probe(probe p, probe_tally t) noexcept {
  if (p == probe::live) t.critical_unknown = 0;
  return t.aggregate();
}

status walk_probe(const snapshot& snap, probe p, const std::vector<std::string_view>& excluded) {
  probe_tally t;
  for (const auto& c : snap.checks) {
    if (!c.options.probes.contains(p)) continue;
    if (std::find(excluded.begin(), excluded.end(), std::string_view{c.name}) != excluded.end())
      continue;
    t.count(c, 1);
  }
  return aggregate_probe(p, t);
}

}  // namespace

std::vector<double> duration_bounds(std::chrono::milliseconds timeout) {
  const double limit = std::chrono::duration<double>(timeout).count();
  std::vector<double> bounds;
  for (const double b : run_counters::standard_bounds) {
    if (b >= limit) break;
    bounds.push_back(b);
  }
  if (limit > 0) bounds.push_back(limit);
  return bounds;
}

void run_counters::count(const result& r, std::chrono::milliseconds timeout) noexcept {
  switch (r.status) {
    case status::pass:
      ++by_result[0];
      last_pass = r.time;
      break;
    case status::warn:
      ++by_result[1];
      break;
    case status::fail:
    case status::unknown:
      ++by_result[2];
      ++by_kind[static_cast<std::size_t>(r.kind) % by_kind.size()];
      break;
  }
  duration_sum += r.duration;
  // The same walk as duration_bounds(), without allocating: the first bound >= the duration.
  const double took = std::chrono::duration<double>(r.duration).count();
  const double limit = std::chrono::duration<double>(timeout).count();
  std::size_t i = 0;
  for (const double b : standard_bounds) {
    if (b >= limit) break;
    if (took <= b) {
      ++duration_buckets[i];
      return;
    }
    ++i;
  }
  if (limit > 0 && took <= limit) {
    ++duration_buckets[i];
    return;
  }
  ++duration_buckets[limit > 0 ? i + 1 : i];
}

check_list::check_list(std::initializer_list<check_state> states)
    : check_list(std::vector<check_state>(states)) {}

namespace {

// A hand-built list owns its states and blocks in one piece.
struct built_list {
  std::vector<check_state> states;
  std::vector<check_list::block> blocks;
  std::vector<const check_list::block*> top;
};

}  // namespace

check_list::check_list(std::vector<check_state> states) : size_(states.size()) {
  auto own = std::make_shared<built_list>();
  own->states = std::move(states);
  own->blocks.resize(block_count());
  for (std::size_t i = 0; i < size_; ++i)
    own->blocks[i / block_size].at[i % block_size] = &own->states[i];
  for (const auto& b : own->blocks) own->top.push_back(&b);
  blocks_ = own->top.data();
  owner_ = std::move(own);
  index_ = index_names(*this);
}

check_list::check_list(const block* const* blocks, std::size_t size,
                       std::shared_ptr<const name_index> index, std::shared_ptr<const void> owner)
    : blocks_(blocks), size_(size), index_(std::move(index)), owner_(std::move(owner)) {
  if (!index_) index_ = index_names(*this);
}

std::size_t check_list::index_of(std::string_view name) const noexcept {
  if (!index_) return size_;
  const auto it = std::lower_bound(index_->begin(), index_->end(), name,
                                   [](const auto& e, std::string_view n) { return e.first < n; });
  if (it == index_->end() || it->first != name) return size_;
  return it->second;
}

void probe_tally::count(status s, bool critical, int sign) noexcept {
  const auto add = [sign](std::uint32_t& n) {
    n = static_cast<std::uint32_t>(static_cast<std::int64_t>(n) + sign);
  };
  add(checks);
  if (critical) {
    if (s == status::unknown) add(critical_unknown);
    if (s == status::fail) add(critical_fail);
    if (s == status::warn) add(critical_warn);
  } else if (s != status::pass) {
    add(other_not_pass);
  }
}

status probe_tally::aggregate() const noexcept {
  // The order of vitals::worst: an unchecked critical dependency is never better than a failed one.
  if (critical_unknown > 0) return status::unknown;
  if (critical_fail > 0) return status::fail;
  if (critical_warn > 0 || other_not_pass > 0) return status::warn;
  return status::pass;
}

status snapshot::probe_status(probe p) const noexcept {
  if (p == probe::ready && shutting_down) return status::fail;
  if (p == probe::startup && startup_latched) return status::pass;
  if (!tallied) return walk_probe(*this, p, {});
  return aggregate_probe(p, tallies[tally_index(p)]);
}

status snapshot::probe_status(probe p,
                              const std::vector<std::string_view>& excluded) const noexcept {
  if (p == probe::ready && shutting_down) return status::fail;
  if (p == probe::startup && startup_latched) return status::pass;
  if (!tallied) return walk_probe(*this, p, excluded);
  probe_tally t = tallies[tally_index(p)];
  for (std::size_t i = 0; i < excluded.size(); ++i) {
    // A name given twice is excluded once.
    if (std::find(excluded.begin(), excluded.begin() + static_cast<std::ptrdiff_t>(i),
                  excluded[i]) != excluded.begin() + static_cast<std::ptrdiff_t>(i))
      continue;
    const std::size_t at = checks.index_of(excluded[i]);
    if (at == checks.size()) continue;
    const check_state& c = checks[at];
    if (c.options.probes.contains(p)) t.count(c, -1);
  }
  return aggregate_probe(p, t);
}

status snapshot::overall_status() const noexcept {
  probe_tally t;
  if (tallied) {
    t = tallies[all_checks_tally];
  } else {
    for (const auto& c : checks)
      if (counts_in_service(c.options)) t.count(c, 1);
  }
  return worst(shutting_down ? status::fail : status::pass, t.aggregate());
}

const check_state* snapshot::find(std::string_view name) const noexcept {
  const std::size_t at = checks.index_of(name);
  return at == checks.size() ? nullptr : &checks[at];
}

}  // namespace vitals
