#pragma once
// UBSan's vptr check and a process that is out of descriptors on purpose; see the .cpp.

namespace vitals::testkit {

/// Called by a forked child right after it has lowered RLIMIT_NOFILE to run out of
/// descriptors: from then on (in that process) UBSan's vptr check, which needs a pipe of its
/// own to probe memory, is skipped instead of failing falsely. Every other check stays on. A
/// no-op in builds without UBSan.
void vptr_check_needs_no_descriptor_from_now_on() noexcept;

}  // namespace vitals::testkit
