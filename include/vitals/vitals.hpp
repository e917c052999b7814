#pragma once

/// Umbrella header for the engine (vitals::core).
#include "vitals/check.hpp"
#include "vitals/clock.hpp"
#include "vitals/push.hpp"
#include "vitals/redact.hpp"
#include "vitals/registry.hpp"
#include "vitals/result.hpp"
#include "vitals/service.hpp"
#include "vitals/snapshot.hpp"
#include "vitals/status.hpp"
