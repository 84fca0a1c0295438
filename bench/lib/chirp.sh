#!/usr/bin/env bash
# Shared by the benchmarks under bench/; sourced, not run. Brings in scripts/lib/common.sh (ports, folders,
# say/warn/die, npm_ci_if_needed) and adds starting and stopping Chirp around a benchmark.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

BENCH_STARTED_CHIRP=false

# Every port scripts/start binds.
bench_chirp_ports() {
  echo "$PG_PORT $REDIS_PORT $SMTP_PORT $SMTP_WEB_PORT $GATEWAY_PORT $USERS_PORT $TWEETS_PORT $EMAIL_WORKER_PORT"
}

# Starts Chirp with `scripts/start --detach` (a Release build unless build=false), output in the log file; with
# reuse=true it only checks that a Chirp answers on the gateway port. A Chirp this function started is stopped by
# bench_chirp_down, which the caller runs on exit.
bench_chirp_up() { # reuse (true|false), build (true|false), log file
  local reuse=$1 build=$2 log=$3 port taken=() start_args=(--detach)
  if [[ $reuse == true ]]; then
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$GATEWAY_PORT/health/ready" ||
      die "--reuse: no Chirp is ready at http://127.0.0.1:$GATEWAY_PORT (start one with scripts/start --detach)"
    say "Using the Chirp that is running (--reuse); it stays running"
    return 0
  fi
  for port in $(bench_chirp_ports); do
    port_in_use "$port" && taken+=("$port")
  done
  if (( ${#taken[@]} > 0 )); then
    die "ports ${taken[*]} are in use (another scripts/start? see ss -ltnp); stop it, or pass --reuse to measure the running Chirp"
  fi
  [[ $build == true ]] || start_args+=(--no-build)
  say "Starting Chirp: scripts/start ${start_args[*]} (output in ${log#"$CHIRP_REPO"/})"
  BENCH_STARTED_CHIRP=true
  if ! "$CHIRP_REPO/scripts/start" "${start_args[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "scripts/start failed; see ${log#"$CHIRP_REPO"/} and .run/logs/"
  fi
}

# Stops Chirp when bench_chirp_up started it.
bench_chirp_down() {
  if [[ $BENCH_STARTED_CHIRP == true ]]; then
    BENCH_STARTED_CHIRP=false
    say "Stopping Chirp (scripts/stop)"
    "$CHIRP_REPO/scripts/stop" --quiet || warn "scripts/stop failed"
  fi
}

# The pid of the process listening on 127.0.0.1:<port>; empty when there is none or ss cannot tell (not root).
bench_listener_pid() { # port
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true
}

# The pid of a service (as named in scripts/lib/common.sh): the listener on its port, else its pid file.
bench_service_pid() { # service
  local service=$1 pid
  pid=$(bench_listener_pid "$(service_port "$service")")
  if [[ -z $pid && -f $CHIRP_PIDS/$service.pid ]]; then
    pid=$(cat "$CHIRP_PIDS/$service.pid")
  fi
  [[ -n $pid ]] || die "cannot find the process of $service (port $(service_port "$service"))"
  echo "$pid"
}

# The number of lines of a file (0 when it does not exist).
bench_line_count() {
  if [[ -f $1 ]]; then
    wc -l <"$1"
  else
    echo 0
  fi
}

# Kills a running service with SIGKILL and starts it again at once with the environment, working directory and command
# line the killed process had, as Kubernetes restarts a crashed container. Its log goes on in the same file.
bench_kill_and_restart() { # service
  local service=$1 pid cwd env=() cmd=()
  pid=$(bench_service_pid "$service")
  cwd=$(readlink "/proc/$pid/cwd") || die "cannot read the working directory of $service (pid $pid)"
  mapfile -d '' -t env <"/proc/$pid/environ"
  mapfile -d '' -t cmd <"/proc/$pid/cmdline"
  kill -KILL "$pid"
  say "Killed $service (pid $pid) with SIGKILL; starting it again"
  (cd "$cwd" && exec setsid env -i "${env[@]}" "${cmd[@]}" >>"$CHIRP_LOGS/$service.log" 2>&1 </dev/null) &
  echo $! >"$CHIRP_PIDS/$service.pid"
}

# The CPU time (user + system) the processes have used so far, in milliseconds; processes that are gone count 0.
bench_cpu_ms() { # pid...
  local total=0 pid fields
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    # After "(comm) " the fields start at field 3, state; utime and stime are fields 14 and 15.
    read -ra fields < <(sed 's/^.*) //' "/proc/$pid/stat")
    total=$((total + fields[11] + fields[12]))
  done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}

# The pids of Chirp's PostgreSQL: the postmaster and every backend and helper process it started.
bench_postgres_pids() {
  local postmaster
  postmaster=$(head -n 1 "$CHIRP_RUN/pg/data/postmaster.pid" 2>/dev/null) || return 0
  echo "$postmaster" $(pgrep -P "$postmaster")
}
