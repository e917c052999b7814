// A Go exporter serving the same series as vitalsd's /metrics with 20 checks (bench/metrics/):
// client_golang's promhttp on a custom registry (no go_* collector: vitals has no such
// series), the process collector, values updated by a goroutine as checks would.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18191", "address")
	checks := flag.Int("checks", 20, "checks")
	flag.Parse()

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	cl := []string{"check", "type"}
	status := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_status", Help: "Reported status."}, append(cl, "status"))
	critical := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_critical", Help: "Critical."}, cl)
	inProbe := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_in_probe", Help: "In probe."}, []string{"check", "probe"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vitals_check_duration_seconds", Help: "Duration.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5}}, cl)
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_runs_total", Help: "Runs."}, append(cl, "result"))
	timeouts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_timeouts_total", Help: "Timeouts."}, cl)
	late := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_late_results_total", Help: "Late."}, cl)
	transitions := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_transitions_total", Help: "Transitions."}, cl)
	lastRun := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_last_run_timestamp_seconds", Help: "Last run."}, cl)
	lastPass := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_last_pass_timestamp_seconds", Help: "Last pass."}, cl)
	consecutive := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_consecutive_failures", Help: "Consecutive."}, cl)
	observed := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_observed_value", Help: "Observed."}, append(cl, "unit"))
	probeStatus := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_probe_status", Help: "Probe."}, []string{"probe", "status"})
	probeCode := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_probe_http_code", Help: "Code."}, []string{"probe"})
	reg.MustRegister(status, critical, inProbe, duration, runs, timeouts, late, transitions, lastRun, lastPass, consecutive, observed, probeStatus, probeCode)
	// Engine, HTTP and build series: 31 single gauges/counters, as vitalsd has.
	for i := 0; i < 31; i++ {
		reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: fmt.Sprintf("vitals_engine_figure_%d", i), Help: "Engine figure."}))
	}
	statuses := []string{"pass", "warn", "fail", "unknown"}
	for _, p := range []string{"live", "ready", "startup"} {
		for _, s := range statuses {
			probeStatus.WithLabelValues(p, s).Set(0)
		}
		probeCode.WithLabelValues(p).Set(200)
	}
	names := make([]string, *checks)
	for i := range names {
		names[i] = fmt.Sprintf("check%02d", i)
		n := names[i]
		for _, s := range statuses {
			status.WithLabelValues(n, "disk", s).Set(0)
		}
		critical.WithLabelValues(n, "disk").Set(1)
		inProbe.WithLabelValues(n, "ready").Set(1)
		for _, r := range []string{"pass", "warn", "fail"} {
			runs.WithLabelValues(n, "disk", r)
		}
		timeouts.WithLabelValues(n, "disk")
		late.WithLabelValues(n, "disk")
		transitions.WithLabelValues(n, "disk")
	}
	// The checks: each updates its series every 100 ms.
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			now := float64(time.Now().UnixNano()) / 1e9
			for _, n := range names {
				status.WithLabelValues(n, "disk", "pass").Set(1)
				duration.WithLabelValues(n, "disk").Observe(rand.Float64() / 1000)
				runs.WithLabelValues(n, "disk", "pass").Inc()
				lastRun.WithLabelValues(n, "disk").Set(now)
				lastPass.WithLabelValues(n, "disk").Set(now)
				consecutive.WithLabelValues(n, "disk").Set(0)
				observed.WithLabelValues(n, "disk", "percent").Set(rand.Float64() * 100)
			}
		}
	}()
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}
