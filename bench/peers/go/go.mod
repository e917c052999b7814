module vitals/bench/peer

go 1.19
