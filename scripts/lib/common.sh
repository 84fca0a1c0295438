# Shared by scripts/start, scripts/stop and scripts/dev-secrets; sourced, not run.
# Every port can be changed through the environment variable next to it.

CHIRP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHIRP_RUN=$CHIRP_REPO/.run
CHIRP_LOGS=$CHIRP_RUN/logs
CHIRP_PIDS=$CHIRP_RUN/pids
CHIRP_KEYS=$CHIRP_REPO/.keys
CHIRP_PG_BIN=${CHIRP_PG_BIN:-/usr/lib/postgresql/15/bin}

PG_PORT=${CHIRP_PG_PORT:-55432}
REDIS_PORT=${CHIRP_REDIS_PORT:-56379}
SMTP_PORT=${CHIRP_SMTP_PORT:-2525}
SMTP_WEB_PORT=${CHIRP_SMTP_WEB_PORT:-8025}
GATEWAY_PORT=${CHIRP_GATEWAY_PORT:-5000}
USERS_PORT=${CHIRP_USERS_PORT:-5001}
TWEETS_PORT=${CHIRP_TWEETS_PORT:-5002}
EMAIL_WORKER_PORT=${CHIRP_EMAIL_WORKER_PORT:-5003}
DASHBOARD_PORT=${CHIRP_DASHBOARD_PORT:-18888}
OTLP_PORT=${CHIRP_OTLP_PORT:-18889}
SMTP4DEV_VERSION=3.15.0

# The connection budget of the start command (README.md "Capacity"): one replica of each service, each with at
# most this many PostgreSQL connections, well below the server's max_connections (the rest is for the migrate
# chores, psql and the server's reserved superuser slots).
PG_MAX_CONNECTIONS=${CHIRP_PG_MAX_CONNECTIONS:-100}
USERS_DB_POOL=${CHIRP_USERS_DB_POOL:-20}
TWEETS_DB_POOL=${CHIRP_TWEETS_DB_POOL:-30}
EMAIL_DB_POOL=${CHIRP_EMAIL_DB_POOL:-10}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The services, in start order: name, project folder, assembly name, port variable.
CHIRP_SERVICES=(users tweets email-worker gateway)
service_project() {
  case $1 in
    users) echo subgraphs/Chirp.Users ;;
    tweets) echo subgraphs/Chirp.Tweets ;;
    email-worker) echo email-worker/Chirp.EmailWorker ;;
    gateway) echo gateway/Chirp.Gateway ;;
  esac
}
service_port() {
  case $1 in
    users) echo "$USERS_PORT" ;;
    tweets) echo "$TWEETS_PORT" ;;
    email-worker) echo "$EMAIL_WORKER_PORT" ;;
    gateway) echo "$GATEWAY_PORT" ;;
  esac
}
service_dll() {
  local project
  project=$(service_project "$1")
  echo "$CHIRP_REPO/$project/bin/Release/net10.0/$(basename "$project").dll"
}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Installs Debian packages that are missing; needs root. Pass "package:command-or-path" pairs.
CHIRP_APT_UPDATED=false
ensure_packages() {
  local wanted=() pair package probe
  for pair in "$@"; do
    package=${pair%%:*}
    probe=${pair#*:}
    if [[ $probe == /* ]]; then
      [[ -e $probe ]] && continue
    else
      command -v "$probe" >/dev/null && continue
    fi
    wanted+=("$package")
  done
  (( ${#wanted[@]} == 0 )) && return 0
  is_root || die "missing packages: ${wanted[*]}; install them with: sudo apt-get install -y ${wanted[*]}"
  if [[ " ${wanted[*]} " == *" postgresql-15 "* ]]; then
    # Chirp runs its own cluster; the distribution's default one is not needed.
    mkdir -p /etc/postgresql-common/createcluster.d
    [[ -e /etc/postgresql-common/createcluster.d/chirp.conf ]] ||
      echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/chirp.conf
  fi
  say "Installing ${wanted[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ $CHIRP_APT_UPDATED == false ]]; then
    apt-get update -q
    CHIRP_APT_UPDATED=true
  fi
  apt-get install -y -q --no-install-recommends "${wanted[@]}"
}

# npm ci in a folder with a package.json, skipped when its lock file has not changed since the last run.
npm_ci_if_needed() {
  local dir=$1 stamp sum
  [[ -f $dir/package.json ]] || return 0
  [[ -f $dir/package-lock.json ]] || die "$dir/package-lock.json is missing (run 'npm install' there and commit it)"
  stamp=$dir/node_modules/.chirp-lock.sha256
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$sum" ]]; then
    return 0
  fi
  say "npm ci in ${dir#"$CHIRP_REPO"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$sum" > "$stamp"
}

# True when the pid file names a live process.
pid_alive() {
  local file=$1 pid
  [[ -f $file ]] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# Waits until a TCP port on 127.0.0.1 accepts connections; $2 = seconds.
wait_for_port() {
  local port=$1 seconds=${2:-60} i
  for ((i = 0; i < seconds * 5; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Where PostgreSQL keeps its data: .run/pg, or, when the postgres user cannot reach the repository
# (e.g. a clone under /root), a folder under /var/lib/chirp linked from .run/pg.
pg_base() {
  if [[ -L $CHIRP_RUN/pg || -d $CHIRP_RUN/pg ]]; then
    readlink -f "$CHIRP_RUN/pg"
    return
  fi
  mkdir -p "$CHIRP_RUN"
  chmod o+x "$CHIRP_RUN" 2>/dev/null || true
  if ! is_root || runuser -u postgres -- test -x "$CHIRP_RUN" 2>/dev/null; then
    mkdir -p "$CHIRP_RUN/pg"
    echo "$CHIRP_RUN/pg"
  else
    local alt
    alt=/var/lib/chirp/$(printf '%s' "$CHIRP_REPO" | sha256sum | cut -c1-12)/pg
    mkdir -p "$alt"
    chmod 755 /var/lib/chirp "$(dirname "$alt")" "$alt"
    ln -sfn "$alt" "$CHIRP_RUN/pg"
    echo "$alt"
  fi
}

# The standalone Aspire dashboard (docs/architecture.md section 8): the binary of the Aspire.Dashboard.Sdk.linux-x64
# package, which the build downloads into the NuGet package folder (tests/Chirp.Testing names it; its version is
# AspireDashboardVersion in Directory.Packages.props).
dashboard_binary() {
  local version root
  version=$(sed -n 's:.*<AspireDashboardVersion>\(.*\)</AspireDashboardVersion>.*:\1:p' "$CHIRP_REPO/Directory.Packages.props")
  root=${NUGET_PACKAGES:-$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')}
  echo "${root%/}/aspire.dashboard.sdk.linux-x64/$version/tools/Aspire.Dashboard"
}
