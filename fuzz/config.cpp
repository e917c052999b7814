// The YAML config loader (vitals::config::load_string) with its hostile-input budgets (size,
// nodes, depth, aliases): any text either loads or throws config::error with diagnostics in line
// order that each name the file; a loaded configuration builds its registry.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "vitals/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  try {
    const auto cfg = vitals::config::load_string(text, "fuzz.yaml");
    vitals_fuzz::require(cfg.source == "fuzz.yaml", "source not kept");
    (void)vitals::config::build_registry(cfg);
  } catch (const vitals::config::error& e) {
    const auto& diags = e.diagnostics();
    vitals_fuzz::require(!diags.empty(), "config::error without diagnostics", text);
    int last = 0;
    for (const auto& d : diags) {
      vitals_fuzz::require(d.file == "fuzz.yaml", "diagnostic names another file", d.file);
      vitals_fuzz::require(d.line >= last || d.line == 0, "diagnostics out of line order",
                           e.what());
      if (d.line != 0) last = d.line;
      vitals_fuzz::require(!d.message.empty(), "diagnostic without a message", d.to_string());
    }
  }
  return 0;
}
