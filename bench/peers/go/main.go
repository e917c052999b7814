// Go net/http peer for bench/run.sh: the same "ok" body on /readyz. Standard library only.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address")
	flag.Parse()
	body := []byte("ok")
	http.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
