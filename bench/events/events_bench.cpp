// What /api/v1/events costs and how fast it delivers (docs/benchmarks.md#events): the built-in
// server with an event feed, N real client connections on loopback reading their streams, and
// a publisher emitting status changes at a fixed rate. Reports the delay from publish() to the
// frame being read by each client (p50 / p99 / max over every delivery) and the CPU the server
// spent per delivered event (process CPU minus the clients' and the publisher's own threads).
//
//     vitals_bench_events [streams=64] [events=20000] [rate=2000]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vitals/http/events.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const std::string req =
      "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    std::perror("send");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t streams = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const std::size_t events = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
  const double rate = argc > 3 ? std::strtod(argv[3], nullptr) : 2000.0;

  auto feed = std::make_shared<vitals::http::event_feed>();
  vitals::registry reg;
  reg.add("alive", [](const vitals::context&) { return vitals::pass(); },
          {.probes = vitals::live | vitals::ready, .interval = std::chrono::seconds{10}});
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  vitals::http::server http{
      svc,
      {.port = 0, .max_connections = streams * 2 + 16, .max_event_streams = streams},
      {.events = feed}};
  http.start();

  // Publish times by event id (ids are consecutive from the first).
  const std::uint64_t first = feed->last_id() + 1;
  // Written by the publisher, read by the reader once the event arrived.
  std::vector<std::atomic<std::int64_t>> published(events);
  std::vector<int> fds;
  for (std::size_t i = 0; i < streams; ++i) fds.push_back(connect_to(http.port()));
  while (http.stats().event_streams < streams)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});

  std::vector<double> delays_us;
  delays_us.reserve(streams * events);
  double reader_cpu = 0;
  std::thread reader([&] {
    const double cpu0 = thread_cpu_s();
    std::vector<pollfd> polls;
    for (const int fd : fds) polls.push_back({fd, POLLIN, 0});
    std::vector<std::string> pending(fds.size());
    std::vector<std::size_t> seen(fds.size(), 0);
    std::size_t done = 0;
    char buf[65536];
    while (done < fds.size()) {
      if (::poll(polls.data(), polls.size(), 5000) <= 0) break;
      const auto now = clock_type::now();
      for (std::size_t i = 0; i < polls.size(); ++i) {
        if ((polls[i].revents & POLLIN) == 0) continue;
        const ssize_t n = ::recv(polls[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          polls[i].fd = -1;
          ++done;
          continue;
        }
        std::string& p = pending[i];
        p.append(buf, static_cast<std::size_t>(n));
        // Frames of status events start "id: <n>\nevent: status"; chunk framing in between
        // does not split them (one chunk holds whole frames).
        std::size_t at = 0;
        for (;;) {
          const auto f = p.find("id: ", at);
          if (f == std::string::npos) break;
          const auto nl = p.find('\n', f);
          if (nl == std::string::npos || p.size() < nl + 14) break;
          at = nl;
          if (p.compare(nl + 1, 13, "event: status") != 0) continue;
          const std::uint64_t id = std::strtoull(p.c_str() + f + 4, nullptr, 10);
          if (id >= first && id < first + events) {
            delays_us.push_back(
                std::chrono::duration<double, std::micro>(
                    now.time_since_epoch() -
                    clock_type::duration{published[id - first].load(std::memory_order_acquire)})
                    .count());
            if (++seen[i] == events) {
              polls[i].fd = -1;
              ++done;
            }
          }
        }
        p.erase(0, at);
      }
    }
    reader_cpu = thread_cpu_s() - cpu0;
  });

  const double cpu0 = process_cpu_s();
  const auto t0 = clock_type::now();
  double publisher_cpu = 0;
  {
    const double pc0 = thread_cpu_s();
    const auto period = std::chrono::duration<double>(1.0 / rate);
    for (std::size_t i = 0; i < events; ++i) {
      const auto due = t0 + std::chrono::duration_cast<clock_type::duration>(period * i);
      std::this_thread::sleep_until(due);
      published[i].store(clock_type::now().time_since_epoch().count(), std::memory_order_release);
      feed->publish({.check = "web.target-" + std::to_string(i % 10000),
                     .from = i % 2 == 0 ? vitals::status::pass : vitals::status::fail,
                     .to = i % 2 == 0 ? vitals::status::fail : vitals::status::pass,
                     .kind = vitals::failure_kind::timeout,
                     .time = std::chrono::system_clock::now(),
                     .duration = std::chrono::milliseconds{5}});
    }
    publisher_cpu = thread_cpu_s() - pc0;
  }
  reader.join();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double server_cpu = process_cpu_s() - cpu0 - reader_cpu - publisher_cpu;
  for (const int fd : fds) ::close(fd);
  http.stop();
  svc.stop();

  std::sort(delays_us.begin(), delays_us.end());
  const auto q = [&](double p) {
    return delays_us.empty() ? 0.0
                             : delays_us[std::min(delays_us.size() - 1,
                                                  static_cast<std::size_t>(p * delays_us.size()))];
  };
  const std::size_t expected = streams * events;
  std::printf("streams %zu, events %zu at %.0f/s: %zu of %zu deliveries in %.2f s\n", streams,
              events, rate, delays_us.size(), expected, wall);
  std::printf("delay publish -> read: p50 %.0f us, p99 %.0f us, max %.0f us\n", q(0.50), q(0.99),
              delays_us.empty() ? 0.0 : delays_us.back());
  std::printf(
      "server CPU: %.3f s = %.1f %% of a core, %.2f us per delivery; dropped streams %llu\n",
      server_cpu, 100.0 * server_cpu / wall,
      1e6 * server_cpu / static_cast<double>(std::max<std::size_t>(delays_us.size(), 1)),
      static_cast<unsigned long long>(http.stats().event_streams_dropped));
  return delays_us.size() == expected ? 0 : 1;
}
