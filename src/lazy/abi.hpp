#pragma once
// The handshake between a lazy shim and its module: both sides are compiled in one build, and
// the options struct crosses the boundary by value, so the module must come from the very same
// build configuration. VITALS_LAZY_ABI is defined by src/lazy/CMakeLists.txt.

#ifndef VITALS_LAZY_ABI
#error "VITALS_LAZY_ABI must be defined (src/lazy/CMakeLists.txt)"
#endif

#define VITALS_LAZY_EXPORT extern "C" __attribute__((visibility("default")))
