#!/usr/bin/env bash
# Throw-away PostgreSQL, MariaDB, Redis (plain and TLS), memcached and SMTP (aiosmtpd) instances on
# loopback for the integration and fault tests. Installs nothing (the install script provides the
# Debian packages: postgresql postgresql-contrib mariadb-server redis-server memcached openssl
# python3-aiosmtpd).
#
#   scripts/test-servers.sh start    # init data dirs (once), start, wait until ready, write env.sh
#   . "${VITALS_TEST_DIR:-/tmp/vitals-test-servers}/env.sh"
#   scripts/test-servers.sh status
#   scripts/test-servers.sh stop     # stops exactly the processes recorded in the PID files
#
# Environment (all optional): VITALS_TEST_DIR, VITALS_TEST_PG_PORT (55432),
# VITALS_TEST_MYSQL_PORT (53306), VITALS_TEST_REDIS_PORT (56379), VITALS_TEST_REDIS_TLS_PORT
# (56380), VITALS_TEST_MEMCACHED_PORT (51211), VITALS_TEST_SMTP_PORT (52525; the SMTP server's
# four listeners take it and the three after it), VITALS_TEST_SERVERS ("pg mysql redis redis-tls
# memcached smtp": the subset to manage),
# VITALS_TEST_READY_TIMEOUT (seconds to wait for each server, 60).
set -euo pipefail

DIR=${VITALS_TEST_DIR:-/tmp/vitals-test-servers}
# Ports: a VITALS_TEST_*_PORT set in the environment is used as is. Otherwise the default, or the
# port an earlier start chose (kept in $DIR/ports, so status, stop and restarts agree): when
# something else already listens on it (another checkout's servers, a leftover process), start
# takes the next free port above and says so.
saved_port() { if [[ -s $DIR/ports/$1 ]]; then tr -dc '0-9' <"$DIR/ports/$1"; else echo "$2"; fi; }
PG_PORT=${VITALS_TEST_PG_PORT:-$(saved_port pg 55432)}
MYSQL_PORT=${VITALS_TEST_MYSQL_PORT:-$(saved_port mysql 53306)}
REDIS_PORT=${VITALS_TEST_REDIS_PORT:-$(saved_port redis 56379)}
REDIS_TLS_PORT=${VITALS_TEST_REDIS_TLS_PORT:-$(saved_port redis-tls 56380)}
MEMCACHED_PORT=${VITALS_TEST_MEMCACHED_PORT:-$(saved_port memcached 51211)}
SMTP_PORT=${VITALS_TEST_SMTP_PORT:-$(saved_port smtp 52525)}
SERVERS=${VITALS_TEST_SERVERS:-pg mysql redis redis-tls memcached smtp}
READY_TIMEOUT=${VITALS_TEST_READY_TIMEOUT:-60}
HOST=127.0.0.1

log() { printf '[test-servers] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
wants() { [[ " $SERVERS " == *" $1 "* ]]; }

# Run a command as an unprivileged system user when we are root (postgres refuses root).
as_user() {
  local user=$1; shift
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

# pid_alive <pidfile>: true if the recorded process exists.
pid_alive() {
  [[ -s $1 ]] || return 1
  local pid; pid=$(head -n1 "$1" | tr -dc '0-9')
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}
pid_of() { head -n1 "$1" | tr -dc '0-9'; }

# True if something accepts connections on $HOST:<port>.
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# free_port <name> <port> <explicit>: the port to start <name> on. An explicitly configured port
# is kept (the server then fails with its own "address in use"); otherwise the first free one from
# <port> up, recorded for the next status/stop/start.
free_port() {
  local name=$1 port=$2 explicit=$3 p=$2
  if [[ -z $explicit ]]; then
    while port_in_use "$p"; do
      p=$((p + 1))
      ((p < port + 200)) || die "no free port in $port-$((port + 199)) for $name"
    done
    [[ $p == "$port" ]] || log "port $port is taken by another process; $name uses $p"
    mkdir -p "$DIR/ports"
    echo "$p" >"$DIR/ports/$name"
  fi
  echo "$p"
}

# watching <pid> <log>: the server process the next wait_until calls watch, and its log. A server
# that exits while we wait (it lost its port to another process, a bad config) fails at once, and
# its log's last lines go to stderr, where CI shows them.
WATCH_PID="" WATCH_LOG=""
watching() { WATCH_PID=$1 WATCH_LOG=$2; }

# show_log <file>: its last lines, on stderr.
show_log() {
  [[ -s $1 ]] || return 0
  log "last lines of $1:"
  tail -n 15 "$1" | sed 's/^/    /' >&2
}

# wait_until <what> <command...>: polls the command until it succeeds, bounded in time.
wait_until() {
  local what=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $WATCH_PID ]] && ! kill -0 "$WATCH_PID" 2>/dev/null; then
      show_log "$WATCH_LOG"
      die "$what: the server (pid $WATCH_PID) exited before it was ready"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$WATCH_LOG"
      die "$what not ready after ${READY_TIMEOUT}s (logs in $DIR)"
    fi
    sleep 0.2
  done
}

# start_server <key> <port-var> <step> <start-fn> <stop-fn>: runs the start function in a
# subshell. When it fails and the port was chosen here (not set in the environment), the server
# may have lost its port to another process that bound it after we looked (another checkout
# starting its own servers at the same moment): it is stopped and started again from the next
# port, up to five times.
start_server() {
  local key=$1 var=$2 step=$3 start=$4 stop=$5 attempt
  local explicit=VITALS_TEST_$var
  for attempt in 1 2 3 4 5; do
    if ("$start"); then
      [[ -n ${!explicit:-} ]] || printf -v "$var" %s "$(saved_port "$key" "${!var}")"
      return 0
    fi
    [[ -z ${!explicit:-} ]] || exit 1
    "$stop" >/dev/null 2>&1 || true
    printf -v "$var" %s $(($(saved_port "$key" "${!var}") + step))
    ((attempt < 5)) && log "$key: trying again from port ${!var}"
  done
  die "$key did not start in five attempts"
}

# Passwords are random per data directory and kept (mode 600) so restarts reuse them.
secret() {
  local f=$DIR/secrets/$1
  if [[ ! -s $f ]]; then
    mkdir -p "$DIR/secrets"; chmod 700 "$DIR/secrets"
    (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$f")
  fi
  cat "$f"
}

pg_bin() {
  local v
  v=$(ls -1 /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1)
  [[ -n $v && -x /usr/lib/postgresql/$v/bin/postgres ]] || die "PostgreSQL server not installed"
  echo "/usr/lib/postgresql/$v/bin"
}

# Stops a recorded process: SIGCONT first (a fault test may have left it stopped), then TERM,
# then KILL after a bounded wait.
stop_pid() {
  local name=$1 pidfile=$2
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
  local pid; pid=$(pid_of "$pidfile")
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

# ---------------------------------------------------------------------------------- PostgreSQL
pg_start() {
  local bin; bin=$(pg_bin)
  local d=$DIR/pg
  mkdir -p "$d/run"
  chown -R postgres:postgres "$d" 2>/dev/null || true
  if [[ ! -s $d/data/PG_VERSION ]]; then
    log "initialising PostgreSQL in $d/data"
    rm -rf "$d/data"
    as_user postgres "$bin/initdb" -D "$d/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$d/initdb.log" 2>&1 ||
      die "initdb failed (see $d/initdb.log)"
  fi
  if pid_alive "$d/data/postmaster.pid"; then
    log "PostgreSQL already running (pid $(pid_of "$d/data/postmaster.pid"))"
  else
    PG_PORT=$(free_port pg "$PG_PORT" "${VITALS_TEST_PG_PORT:-}")
    as_user postgres "$bin/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t "$READY_TIMEOUT" \
      -o "-c listen_addresses=$HOST -p $PG_PORT -c unix_socket_directories=$d/run \
          -c shared_preload_libraries=pg_stat_statements -c max_connections=200 \
          -c log_connections=on -c fsync=off -c synchronous_commit=off" \
      start >/dev/null || { show_log "$d/postgres.log"; die "PostgreSQL did not start"; }
  fi
  watching "$(pid_of "$d/data/postmaster.pid")" "$d/postgres.log"
  wait_until PostgreSQL as_user postgres "$bin/pg_isready" -h "$d/run" -p "$PG_PORT" -U postgres
  local pw; pw=$(secret pg)
  export PGOPTIONS="-c client_min_messages=warning"
  local psql=("$bin/psql" -h "$d/run" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  # Idempotent user/database/extension setup; the password is fed on stdin, never argv.
  as_user postgres "${psql[@]}" -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE vitals LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vitals')
\gexec
ALTER ROLE vitals WITH LOGIN PASSWORD '$pw';
SELECT 'CREATE DATABASE vitals OWNER vitals'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'vitals')
\gexec
GRANT pg_read_all_stats TO vitals;
SQL
  # In both databases: benchmarks read it from `postgres` so their own queries and sessions do
  # not count in `vitals`.
  for db in vitals postgres; do
    as_user postgres "${psql[@]}" -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
      >/dev/null
  done
  log "PostgreSQL ready on $HOST:$PG_PORT (pid $(pid_of "$d/data/postmaster.pid"))"
}

pg_stop() {
  local d=$DIR/pg
  [[ -s $d/data/postmaster.pid ]] || { log "PostgreSQL not running"; return 0; }
  if pid_alive "$d/data/postmaster.pid"; then
    local pid; pid=$(pid_of "$d/data/postmaster.pid")
    # Children may have been SIGSTOPped by a fault test too.
    pkill -CONT -P "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
    as_user postgres "$(pg_bin)/pg_ctl" -D "$d/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
      stop_pid PostgreSQL "$d/data/postmaster.pid"
    log "PostgreSQL stopped"
  fi
}

# ------------------------------------------------------------------------------------- MariaDB
mysql_start() {
  local d=$DIR/mysql
  mkdir -p "$d"
  chown -R mysql:mysql "$d" 2>/dev/null || true
  local user; user=$( [[ $(id -u) -eq 0 ]] && echo mysql || id -un )
  if [[ ! -d $d/data/mysql ]]; then
    log "initialising MariaDB in $d/data"
    rm -rf "$d/data"
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$user" \
      --auth-root-authentication-method=socket --skip-test-db >"$d/install.log" 2>&1 ||
      die "mariadb-install-db failed (see $d/install.log)"
  fi
  if pid_alive "$d/mysqld.pid"; then
    log "MariaDB already running (pid $(pid_of "$d/mysqld.pid"))"
    watching "$(pid_of "$d/mysqld.pid")" "$d/mysqld.err"
  else
    MYSQL_PORT=$(free_port mysql "$MYSQL_PORT" "${VITALS_TEST_MYSQL_PORT:-}")
    rm -f "$d/mysqld.sock"
    # Started directly (not through mysqld_safe) so the PID in the file is the server itself,
    # which the fault tests SIGSTOP.
    setsid mariadbd --no-defaults --datadir="$d/data" --user="$user" --bind-address=$HOST \
      --port="$MYSQL_PORT" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid" \
      --log-error="$d/mysqld.err" --skip-name-resolve --max-connections=200 \
      --innodb-buffer-pool-size=32M --skip-log-bin </dev/null >/dev/null 2>&1 &
    watching $! "$d/mysqld.err"
  fi
  wait_until MariaDB mariadb-admin --no-defaults --socket="$d/mysqld.sock" -u root ping
  wait_until "MariaDB pid file" test -s "$d/mysqld.pid"
  local pw; pw=$(secret mysql)
  mariadb --no-defaults --socket="$d/mysqld.sock" -u root <<SQL
CREATE DATABASE IF NOT EXISTS vitals;
CREATE USER IF NOT EXISTS 'vitals'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'vitals'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'vitals'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'vitals'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL ON vitals.* TO 'vitals'@'127.0.0.1';
GRANT ALL ON vitals.* TO 'vitals'@'localhost';
GRANT PROCESS ON *.* TO 'vitals'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  log "MariaDB ready on $HOST:$MYSQL_PORT (pid $(pid_of "$d/mysqld.pid"))"
}

mysql_stop() { stop_pid MariaDB "$DIR/mysql/mysqld.pid"; }

# --------------------------------------------------------------------------------------- Redis
redis_start() {
  local d=$DIR/redis
  mkdir -p "$d"
  local pw acl_pw; pw=$(secret redis); acl_pw=$(secret redis-acl)
  pid_alive "$d/redis.pid" || REDIS_PORT=$(free_port redis "$REDIS_PORT" "${VITALS_TEST_REDIS_PORT:-}")
  # Rewritten on every start so a changed port applies; mode 600: it holds the passwords.
  (umask 077; cat >"$d/redis.conf" <<CONF
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize no
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
save ""
appendonly no
requirepass $pw
user vitals on >$acl_pw ~* &* +@all
CONF
  )
  if pid_alive "$d/redis.pid"; then
    log "Redis already running (pid $(pid_of "$d/redis.pid"))"
  else
    # In the foreground under setsid (a daemonizing redis-server exits 0 even when it cannot
    # bind), so a server that exits is seen at once.
    setsid redis-server "$d/redis.conf" </dev/null >/dev/null 2>&1 &
    echo $! >"$d/redis.pid"
  fi
  watching "$(pid_of "$d/redis.pid")" "$d/redis.log"
  wait_until Redis env REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -h $HOST -p "$REDIS_PORT" ping
  log "Redis ready on $HOST:$REDIS_PORT (pid $(pid_of "$d/redis.pid"))"
}

redis_stop() { stop_pid Redis "$DIR/redis/redis.pid"; }

# ----------------------------------------------------------------------------------- Redis TLS
# A second Redis speaking only TLS (port 0), with a private CA generated by the openssl CLI: CA +
# server certificate for 127.0.0.1 and localhost (EC P-256, 30 days, renewed a day before expiry).
# test_certs <dir> <what>: true if new certificates were written.
test_certs() {
  local t=$1 what=$2
  if [[ -s $t/server.crt && -s $t/ca.crt ]] &&
    openssl x509 -checkend 86400 -noout -in "$t/server.crt" >/dev/null 2>&1; then
    return 1
  fi
  log "generating the $what test CA and server certificate in $t"
  rm -rf "$t"; mkdir -p "$t"; chmod 700 "$t"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  (umask 077
    openssl req -x509 "${ec[@]}" -keyout "$t/ca.key" -out "$t/ca.crt" -days 30 \
      -subj "/CN=vitals test $what CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${ec[@]}" -keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=127.0.0.1"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" \
      "basicConstraints=CA:FALSE" >"$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
      -days 30 -extfile "$t/server.ext" -out "$t/server.crt"
  ) >"$t/openssl.log" 2>&1 || die "certificate generation failed (see $t/openssl.log)"
  chmod 644 "$t/ca.crt"; chmod 755 "$t"
  return 0
}

redis_tls_start() {
  local d=$DIR/redis-tls
  mkdir -p "$d"
  local pw; pw=$(secret redis-tls)
  if test_certs "$d/tls" Redis && pid_alive "$d/redis.pid"; then
    redis_tls_stop  # it still serves the old certificate
  fi
  pid_alive "$d/redis.pid" ||
    REDIS_TLS_PORT=$(free_port redis-tls "$REDIS_TLS_PORT" "${VITALS_TEST_REDIS_TLS_PORT:-}")
  (umask 077; cat >"$d/redis.conf" <<CONF
bind $HOST
port 0
tls-port $REDIS_TLS_PORT
tls-cert-file $d/tls/server.crt
tls-key-file $d/tls/server.key
tls-ca-cert-file $d/tls/ca.crt
tls-auth-clients no
protected-mode yes
daemonize no
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
save ""
appendonly no
requirepass $pw
CONF
  )
  if pid_alive "$d/redis.pid"; then
    log "Redis TLS already running (pid $(pid_of "$d/redis.pid"))"
  else
    setsid redis-server "$d/redis.conf" </dev/null >/dev/null 2>&1 &
    echo $! >"$d/redis.pid"
  fi
  watching "$(pid_of "$d/redis.pid")" "$d/redis.log"
  wait_until "Redis TLS" env REDISCLI_AUTH="$pw" redis-cli --no-auth-warning --tls \
    --cacert "$d/tls/ca.crt" -h $HOST -p "$REDIS_TLS_PORT" ping
  log "Redis TLS ready on $HOST:$REDIS_TLS_PORT (pid $(pid_of "$d/redis.pid"))"
}

redis_tls_stop() { stop_pid "Redis TLS" "$DIR/redis-tls/redis.pid"; }

# ------------------------------------------------------------------------------------ memcached
memcached_start() {
  local d=$DIR/memcached
  mkdir -p "$d"
  if pid_alive "$d/memcached.pid"; then
    log "memcached already running (pid $(pid_of "$d/memcached.pid"))"
  else
    local user=(); [[ $(id -u) -eq 0 ]] && user=(-u memcache)
    MEMCACHED_PORT=$(free_port memcached "$MEMCACHED_PORT" "${VITALS_TEST_MEMCACHED_PORT:-}")
    # In the foreground under setsid, for the same reason as Redis; its PID file is ours.
    setsid memcached "${user[@]}" -l $HOST -p "$MEMCACHED_PORT" -U 0 -m 64 -c 1024 \
      </dev/null >"$d/memcached.log" 2>&1 &
    echo $! >"$d/memcached.pid"
  fi
  watching "$(pid_of "$d/memcached.pid")" "$d/memcached.log"
  wait_until memcached bash -c "exec 3<>/dev/tcp/$HOST/$MEMCACHED_PORT && printf 'version\r\n' >&3 \
    && read -r -t 2 line <&3 && [[ \$line == VERSION* ]]"
  log "memcached ready on $HOST:$MEMCACHED_PORT (pid $(pid_of "$d/memcached.pid"))"
}

memcached_stop() { stop_pid memcached "$DIR/memcached/memcached.pid"; }

# ----------------------------------------------------------------------------------------- SMTP
# scripts/test-smtp-server.py (aiosmtpd): STARTTLS + AUTH, implicit TLS + AUTH, plain, and
# STARTTLS without AUTH, on four consecutive ports; messages land in $DIR/smtp/maildir/new.
smtp_port_free() {
  local i
  for i in 0 1 2 3; do port_in_use $(($1 + i)) && return 1; done
  return 0
}

smtp_start() {
  local d=$DIR/smtp
  mkdir -p "$d"
  secret smtp >/dev/null
  if test_certs "$d/tls" SMTP && pid_alive "$d/smtp.pid"; then
    smtp_stop  # it still serves the old certificate
  fi
  if pid_alive "$d/smtp.pid"; then
    log "SMTP already running (pid $(pid_of "$d/smtp.pid"))"
  else
    /usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || die "python3-aiosmtpd is not installed"
    if [[ -z ${VITALS_TEST_SMTP_PORT:-} ]]; then
      local p=$SMTP_PORT
      until smtp_port_free "$p"; do
        p=$((p + 4))
        ((p < SMTP_PORT + 200)) || die "no four free ports in $SMTP_PORT-$((SMTP_PORT + 199)) for SMTP"
      done
      [[ $p == "$SMTP_PORT" ]] || log "port $SMTP_PORT is taken by another process; SMTP uses $p"
      SMTP_PORT=$p
      mkdir -p "$DIR/ports"; echo "$p" >"$DIR/ports/smtp"
    fi
    setsid /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/test-smtp-server.py" --dir "$d" \
      --host $HOST --starttls-port "$SMTP_PORT" --smtps-port $((SMTP_PORT + 1)) \
      --plain-port $((SMTP_PORT + 2)) --noauth-port $((SMTP_PORT + 3)) \
      --cert "$d/tls/server.crt" --key "$d/tls/server.key" --user vitals \
      --password-file "$DIR/secrets/smtp" </dev/null >"$d/smtp.log" 2>&1 &
    echo $! >"$d/smtp.pid"
  fi
  watching "$(pid_of "$d/smtp.pid")" "$d/smtp.log"
  wait_until SMTP grep -q "smtp test server ready" "$d/smtp.log"
  log "SMTP ready on $HOST:$SMTP_PORT-$((SMTP_PORT + 3)) (pid $(pid_of "$d/smtp.pid"))"
}

smtp_stop() { stop_pid SMTP "$DIR/smtp/smtp.pid"; }

# -------------------------------------------------------------------------------------- env.sh
write_env() {
  local f=$DIR/env.sh
  (umask 077; {
    echo "# Generated by scripts/test-servers.sh — holds test passwords; do not commit."
    if wants pg && pid_alive "$DIR/pg/data/postmaster.pid"; then
      echo "export VITALS_TEST_PG_URL='postgres://vitals:$(secret pg)@$HOST:$PG_PORT/vitals'"
      echo "export VITALS_TEST_PG_PID=$(pid_of "$DIR/pg/data/postmaster.pid")"
    fi
    if wants mysql && pid_alive "$DIR/mysql/mysqld.pid"; then
      echo "export VITALS_TEST_MYSQL_URL='mysql://vitals:$(secret mysql)@$HOST:$MYSQL_PORT/vitals'"
      echo "export VITALS_TEST_MYSQL_PID=$(pid_of "$DIR/mysql/mysqld.pid")"
    fi
    if wants redis && pid_alive "$DIR/redis/redis.pid"; then
      echo "export VITALS_TEST_REDIS_URL='redis://vitals:$(secret redis-acl)@$HOST:$REDIS_PORT/0'"
      echo "export VITALS_TEST_REDIS_PASSWORD_URL='redis://:$(secret redis)@$HOST:$REDIS_PORT/0'"
      echo "export VITALS_TEST_REDIS_PID=$(pid_of "$DIR/redis/redis.pid")"
    fi
    if wants redis-tls && pid_alive "$DIR/redis-tls/redis.pid"; then
      echo "export VITALS_TEST_REDIS_TLS_URL='rediss://:$(secret redis-tls)@$HOST:$REDIS_TLS_PORT/0'"
      echo "export VITALS_TEST_REDIS_TLS_CA='$DIR/redis-tls/tls/ca.crt'"
      echo "export VITALS_TEST_REDIS_TLS_PID=$(pid_of "$DIR/redis-tls/redis.pid")"
    fi
    if wants memcached && pid_alive "$DIR/memcached/memcached.pid"; then
      echo "export VITALS_TEST_MEMCACHED_ADDR='$HOST:$MEMCACHED_PORT'"
      echo "export VITALS_TEST_MEMCACHED_PID=$(pid_of "$DIR/memcached/memcached.pid")"
    fi
    if wants smtp && pid_alive "$DIR/smtp/smtp.pid"; then
      echo "export VITALS_TEST_SMTP_STARTTLS='smtp://$HOST:$SMTP_PORT'"
      echo "export VITALS_TEST_SMTP_SMTPS='smtps://$HOST:$((SMTP_PORT + 1))'"
      echo "export VITALS_TEST_SMTP_PLAIN='smtp://$HOST:$((SMTP_PORT + 2))'"
      echo "export VITALS_TEST_SMTP_NOAUTH='smtp://$HOST:$((SMTP_PORT + 3))'"
      echo "export VITALS_TEST_SMTP_USER=vitals"
      echo "export VITALS_TEST_SMTP_PASSWORD='$(secret smtp)'"
      echo "export VITALS_TEST_SMTP_CA='$DIR/smtp/tls/ca.crt'"
      echo "export VITALS_TEST_SMTP_MAILDIR='$DIR/smtp/maildir'"
      echo "export VITALS_TEST_SMTP_PID=$(pid_of "$DIR/smtp/smtp.pid")"
    fi
  } >"$f")
  log "environment written to $f"
}

status_line() {
  local name=$1 pidfile=$2 port=$3
  if pid_alive "$pidfile"; then
    local pid state; pid=$(pid_of "$pidfile")
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo '?')
    [[ $state == T ]] && state="stopped (SIGSTOP)" || state=running
    printf '%-10s %-20s pid %-8s %s:%s\n' "$name" "$state" "$pid" "$HOST" "$port"
  else
    printf '%-10s %-20s\n' "$name" "down"
  fi
}

cmd=${1:-}
case $cmd in
  start)
    mkdir -p "$DIR"; chmod 755 "$DIR"
    wants pg && start_server pg PG_PORT 1 pg_start pg_stop
    wants mysql && start_server mysql MYSQL_PORT 1 mysql_start mysql_stop
    wants redis && start_server redis REDIS_PORT 1 redis_start redis_stop
    wants redis-tls && start_server redis-tls REDIS_TLS_PORT 1 redis_tls_start redis_tls_stop
    wants memcached && start_server memcached MEMCACHED_PORT 1 memcached_start memcached_stop
    wants smtp && start_server smtp SMTP_PORT 4 smtp_start smtp_stop
    write_env
    ;;
  stop)
    wants smtp && smtp_stop
    wants memcached && memcached_stop
    wants redis-tls && redis_tls_stop
    wants redis && redis_stop
    wants mysql && mysql_stop
    wants pg && pg_stop
    rm -f "$DIR/env.sh"
    ;;
  status)
    wants pg && status_line postgres "$DIR/pg/data/postmaster.pid" "$PG_PORT"
    wants mysql && status_line mariadb "$DIR/mysql/mysqld.pid" "$MYSQL_PORT"
    wants redis && status_line redis "$DIR/redis/redis.pid" "$REDIS_PORT"
    wants redis-tls && status_line redis-tls "$DIR/redis-tls/redis.pid" "$REDIS_TLS_PORT"
    wants memcached && status_line memcached "$DIR/memcached/memcached.pid" "$MEMCACHED_PORT"
    wants smtp && status_line smtp "$DIR/smtp/smtp.pid" "$SMTP_PORT"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
