#pragma once
// A real service with passing checks behind a real built-in server on 127.0.0.1, port 0.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <utility>

#include "server_client.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace vitals::test {

/// Waits (bounded) until `pred` holds; returns its final value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 3000ms) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return pred();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class server_test : public ::testing::Test {
 protected:
  /// A service whose checks all pass, and the server in front of it.
  void start(http::server_options options = {}, registry reg = {}, bool wait_ready = true) {
    if (reg.empty()) {
      reg.add("always", [](const context&) { return pass(); },
              {.probes = live | ready | startup, .interval = 1s, .timeout = 500ms});
    }
    svc_ =
        std::make_unique<service>(std::move(reg), service_options{.on_event = [](const event&) {}});
    svc_->start();
    if (wait_ready) {
      ASSERT_TRUE(
          eventually([&] { return svc_->current()->probe_status(probe::ready) == status::pass; }));
    }
    if (options.address == "127.0.0.1" || options.address.empty()) options.address = "127.0.0.1";
    options.port = 0;
    srv_ = std::make_unique<http::server>(*svc_, std::move(options));
    srv_->start();
    ASSERT_NE(srv_->port(), 0);
  }

  void TearDown() override {
    if (srv_) srv_->stop();
    if (svc_) svc_->stop();
  }

  client connect() { return client{srv_->port()}; }

  std::unique_ptr<service> svc_{};
  std::unique_ptr<http::server> srv_{};
};

}  // namespace vitals::test
