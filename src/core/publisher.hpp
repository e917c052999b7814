#pragma once
// Private: builds snapshots' check lists with structural sharing. Only the blocks that hold a
// changed check are copied (one pointer per check of the block); every other block is shared
// with the previous snapshot, so a publication costs O(changed + blocks), not O(checks).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/snapshot.hpp"

namespace vitals::detail {

class publisher {
 public:
  using name_index = std::vector<std::pair<std::string, std::uint32_t>>;

  publisher(std::size_t checks, std::shared_ptr<const name_index> index)
      : size_(checks), index_(std::move(index)), prepared_(checks), marked_(checks, false) {
    blocks_.resize((checks + check_list::block_size - 1) / check_list::block_size);
    for (std::size_t i = 0; i < checks; ++i) mark(static_cast<std::uint32_t>(i));
  }

  /// Check `i` changed. `prepared` is its new state if the caller already made a shared copy
  /// (for observers); it is then published as is, unless the check changes again first.
  void mark(std::uint32_t i, std::shared_ptr<const check_state> prepared = {}) {
    prepared_[i] = std::move(prepared);
    if (marked_[i]) return;
    marked_[i] = true;
    dirty_.push_back(i);
  }
  [[nodiscard]] bool dirty() const noexcept { return !dirty_.empty(); }

  /// The check list of the next snapshot; `state_of(i)` is check i's working state.
  template <class StateOf>
  check_list build(StateOf&& state_of) {
    // Which blocks change, each copied once however many of its checks changed.
    std::vector<std::shared_ptr<check_list::block>> fresh(blocks_.size());
    for (const std::uint32_t i : dirty_) {
      const std::size_t b = i / check_list::block_size;
      if (!fresh[b]) {
        fresh[b] = blocks_[b] ? std::make_shared<check_list::block>(*blocks_[b])
                              : std::make_shared<check_list::block>(block_length(b));
      }
      auto state =
          prepared_[i] ? std::move(prepared_[i]) : std::make_shared<const check_state>(state_of(i));
      (*fresh[b])[i % check_list::block_size] = std::move(state);
      marked_[i] = false;
    }
    dirty_.clear();
    for (std::size_t b = 0; b < fresh.size(); ++b)
      if (fresh[b]) blocks_[b] = std::move(fresh[b]);
    return check_list{blocks_, size_, index_};
  }

 private:
  [[nodiscard]] std::size_t block_length(std::size_t b) const noexcept {
    return std::min(check_list::block_size, size_ - b * check_list::block_size);
  }

  std::size_t size_;
  std::shared_ptr<const name_index> index_;
  std::vector<std::shared_ptr<const check_list::block>> blocks_{};
  std::vector<std::shared_ptr<const check_state>> prepared_;
  std::vector<bool> marked_;
  std::vector<std::uint32_t> dirty_{};
};

}  // namespace vitals::detail
