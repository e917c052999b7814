// The peer for bench/daemon: a Go net/http health server with 20 background checks of the same
// kinds vitalsd runs (statfs, /proc reads, file stats, timer lag), serving /readyz from the
// latest results like vitalsd does.
package main

import (
	"flag"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18091", "address")
	flag.Parse()
	var failing int64
	results := make([]int64, 20)
	for i := 0; i < 20; i++ {
		i := i
		go func() {
			for {
				ok := true
				switch i % 4 {
				case 0:
					var st syscall.Statfs_t
					ok = syscall.Statfs("/", &st) == nil
				case 1:
					_, err := os.ReadFile("/proc/meminfo")
					ok = err == nil
				case 2:
					_, err := os.ReadFile("/proc/loadavg")
					ok = err == nil
				case 3:
					t := time.Now()
					time.Sleep(10 * time.Millisecond)
					ok = time.Since(t) < time.Second
				}
				v := int64(0)
				if !ok {
					v = 1
				}
				old := atomic.SwapInt64(&results[i], v)
				atomic.AddInt64(&failing, v-old)
				time.Sleep(time.Second)
			}
		}()
	}
	http.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if atomic.LoadInt64(&failing) != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("failed\n"))
			return
		}
		w.Write([]byte("ok"))
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		panic(err)
	}
}
