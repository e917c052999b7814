#pragma once
// Private: builds snapshots' check lists with structural sharing. Only the blocks that hold a
// changed check are copied (one raw pointer per check of the block); every other block is
// shared with the previous snapshot, so a publication costs O(changed + blocks), not O(checks).
//
// Ownership is by *epoch*, not by check: a snapshot owns its states as a whole, through the
// epoch of its publication, and a publication touches no state it does not change (a reference
// count per state, copied with every block, was a cold cache miss per neighbour at 100,000
// checks). Epoch g keeps what snapshot g can reach and publication g + 1 superseded (states and
// block versions), plus epoch g + 1: so snapshot g keeps everything it can reach alive.
//
// A snapshot held for long (an idle thread's cached copy, a user's) would keep every later
// epoch alive; so an epoch that is still alive `fold_after` publications later is *folded*: it
// takes its own reference to each state it reaches and lets go of the later epochs. Memory
// held by old snapshots stays bounded by one set of states each, as with a count per state.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/snapshot.hpp"

namespace vitals::detail {

class publisher {
 public:
  using name_index = check_list::name_index;
  using block_ptr = std::shared_ptr<check_list::block>;
  /// Publications after which an epoch still alive is folded.
  static constexpr std::size_t fold_after = 64;

  publisher(std::size_t checks, std::shared_ptr<const name_index> index)
      : size_(checks),
        index_(std::move(index)),
        current_(checks),
        blocks_((checks + check_list::block_size - 1) / check_list::block_size),
        copied_at_(blocks_.size(), 0),
        slot_(checks, 0),
        open_(std::make_shared<epoch>()) {
    for (auto& b : blocks_) b = std::make_shared<check_list::block>();
    for (std::size_t i = 0; i < checks; ++i) mark(static_cast<std::uint32_t>(i));
  }
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;
  /// What the latest snapshot reaches now belongs to its epoch: snapshots outlive the engine.
  ~publisher() {
    for (std::uint32_t i = 0; i < size_; ++i)
      if (current_[i]) open_->states.emplace_back(i, std::move(current_[i]));
    for (std::uint32_t b = 0; b < blocks_.size(); ++b)
      open_->blocks.emplace_back(b, std::move(blocks_[b]));
  }

  /// Check `i` changed. `prepared` is its new state if the caller already made a shared copy
  /// (for observers); it is then published as is, unless the check changes again first.
  void mark(std::uint32_t i, std::shared_ptr<const check_state> prepared = {}) {
    // What the next build() reads of check i, fetched now (at 100,000 checks every one of
    // them is a cold line by then): its current state's slot and its block.
    __builtin_prefetch(&current_[i]);
    for (std::size_t off = 0; off < sizeof(check_list::block); off += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(blocks_[i / check_list::block_size].get()) +
                         off);
    if (slot_[i] != 0) {
      dirty_[slot_[i] - 1].second = std::move(prepared);
      return;
    }
    dirty_.emplace_back(i, std::move(prepared));
    slot_[i] = static_cast<std::uint32_t>(dirty_.size());
  }
  [[nodiscard]] bool dirty() const noexcept { return !dirty_.empty(); }

  /// The check list of the next snapshot; `state_of(i)` is check i's working state.
  template <class StateOf>
  check_list build(StateOf&& state_of) {
    epoch& retiring = *open_;  // snapshot g's epoch: what g + 1 supersedes is kept there
    for (auto& [i, prepared] : dirty_) {
      const std::uint32_t b = i / check_list::block_size;
      // A block is copied once per publication: at most once into `retiring`.
      if (copied_at_[b] != generation_ + 1) {
        copied_at_[b] = generation_ + 1;
        auto copy = std::make_shared<check_list::block>(*blocks_[b]);
        retiring.blocks.emplace_back(b, std::exchange(blocks_[b], std::move(copy)));
      }
      auto state =
          prepared ? std::move(prepared) : std::make_shared<const check_state>(state_of(i));
      blocks_[b]->at[i % check_list::block_size] = state.get();
      if (current_[i]) retiring.states.emplace_back(i, std::move(current_[i]));
      current_[i] = std::move(state);
      slot_[i] = 0;
    }
    dirty_.clear();
    auto next = std::make_shared<epoch>();
    next->top.reserve(blocks_.size());
    for (const auto& b : blocks_) next->top.push_back(b.get());
    ++generation_;
    retiring.next = next;
    older_.emplace_back(open_);
    open_ = std::move(next);
    fold_old();
    return check_list{open_->top.data(), size_, index_, open_};
  }

 private:
  struct epoch {
    /// The blocks of this epoch's snapshot.
    std::vector<const check_list::block*> top;
    /// Superseded by the next publication (reachable from this epoch's snapshot or older
    /// ones), with the check (resp. block) index.
    std::vector<std::pair<std::uint32_t, std::shared_ptr<const check_state>>> states;
    std::vector<std::pair<std::uint32_t, block_ptr>> blocks;
    /// After a fold: every state and block this epoch's snapshot reaches.
    std::vector<std::shared_ptr<const check_state>> pinned;
    std::vector<block_ptr> pinned_blocks;
    std::shared_ptr<epoch> next;

    epoch() = default;
    epoch(const epoch&) = delete;
    epoch& operator=(const epoch&) = delete;
    // Iterative: a chain of many epochs must not recurse once per link. The outermost
    // destructor on a thread releases the links one by one; an epoch destroyed by one of
    // those releases hands its own link back instead of releasing it. Every link is an
    // ordinary release (no use_count() guess), so no other holder ever sees a chain cut short.
    ~epoch() {
      if (!next) return;
      thread_local std::shared_ptr<epoch>* handed_back = nullptr;
      if (handed_back != nullptr) {
        *handed_back = std::move(next);
        return;
      }
      std::shared_ptr<epoch> link = std::move(next);
      handed_back = &link;
      while (link) {
        auto releasing = std::move(link);
        releasing.reset();  // if that was the last reference, `link` is now its successor
      }
      handed_back = nullptr;
    }
  };

  // Folds the oldest epoch once it is fold_after publications old and still alive.
  void fold_old() {
    while (!older_.empty() && older_.front().expired()) older_.pop_front();
    if (older_.size() <= fold_after) return;
    auto e = older_.front().lock();
    older_.pop_front();
    if (!e) return;
    // What snapshot e reaches of check i is the first state of i superseded from e on, or the
    // current one if none was; the same for each block.
    std::vector<bool> seen(size_, false);
    std::vector<bool> seen_block(blocks_.size(), false);
    std::vector<std::shared_ptr<const check_state>> pinned;
    pinned.reserve(size_);
    std::vector<block_ptr> pinned_blocks;
    pinned_blocks.reserve(blocks_.size());
    for (const epoch* at = e.get(); at != nullptr; at = at->next.get()) {
      for (const auto& [i, s] : at->states)
        if (!seen[i]) seen[i] = true, pinned.push_back(s);
      for (const auto& [b, bp] : at->blocks)
        if (!seen_block[b]) seen_block[b] = true, pinned_blocks.push_back(bp);
    }
    for (std::size_t i = 0; i < size_; ++i)
      if (!seen[i]) pinned.push_back(current_[i]);
    for (std::size_t b = 0; b < blocks_.size(); ++b)
      if (!seen_block[b]) pinned_blocks.push_back(blocks_[b]);
    e->pinned = std::move(pinned);
    e->pinned_blocks = std::move(pinned_blocks);
    // e no longer needs the later epochs; they go when their own snapshots do.
    e->next.reset();
  }

  std::size_t size_;
  std::shared_ptr<const name_index> index_;
  std::vector<std::shared_ptr<const check_state>> current_;  // what the latest snapshot shows
  std::vector<block_ptr> blocks_;                            // its blocks
  std::vector<std::uint64_t> copied_at_;  // publication for which block b was last copied
  std::vector<std::uint32_t> slot_;       // 1 + position in dirty_, 0 if check i is not dirty
  std::vector<std::pair<std::uint32_t, std::shared_ptr<const check_state>>> dirty_{};
  std::shared_ptr<epoch> open_;
  std::deque<std::weak_ptr<epoch>> older_{};
  std::uint64_t generation_ = 0;
};

}  // namespace vitals::detail
