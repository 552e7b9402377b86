#!/usr/bin/env bash
# Private Docker Engine + local registry for Fleetwave's integration tests (README: Tests, CI and benchmarks).
#
#   scripts/test-env.sh up       install (as root) and start both; a no-op when already running
#   scripts/test-env.sh down     stop both, unmount what dockerd mounted ("down --purge" also deletes state)
#   scripts/test-env.sh env      eval-able exports: DOCKER_HOST, FLEETWAVE_REGISTRY
#   scripts/test-env.sh status   what runs (exit 0 when both run, 3 otherwise)
#
# Environment:
#   FLEETWAVE_TEST_ENV_DIR            state dir (default /tmp/fleetwave-test-env)
#   FLEETWAVE_TEST_ENV_BROWSER        0 = do not install chromium for the e2e tests (default 1)
#   FLEETWAVE_TEST_DOCKER_SOCK        daemon socket (default $dir/docker.sock)
#   FLEETWAVE_TEST_REGISTRY_PORT      registry port on 127.0.0.1 (default 5055)
#   FLEETWAVE_TEST_STORAGE_DRIVER     force a storage driver (default: overlay2 when a probe mount works, else vfs)
#   FLEETWAVE_TEST_ENV_TIMEOUT        seconds to wait for each daemon (default 60)
#
# The system dockerd (if any) is never touched: this one has its own data/exec roots, socket,
# pidfile and daemon.json, and runs without bridge or iptables because bots use host networking.
set -euo pipefail

DIR="${FLEETWAVE_TEST_ENV_DIR:-/tmp/fleetwave-test-env}"
SOCK="${FLEETWAVE_TEST_DOCKER_SOCK:-$DIR/docker.sock}"
REGISTRY_PORT="${FLEETWAVE_TEST_REGISTRY_PORT:-5055}"
TIMEOUT="${FLEETWAVE_TEST_ENV_TIMEOUT:-60}"

DATA_ROOT="$DIR/data"
EXEC_ROOT="$DIR/exec"
DOCKERD_PID="$DIR/dockerd.pid"
DOCKERD_LOG="$DIR/dockerd.log"
REGISTRY_DIR="$DIR/registry"
REGISTRY_PID="$DIR/registry.pid"
REGISTRY_LOG="$DIR/registry.log"
DRIVER_FILE="$DIR/storage-driver"
LOCK_FILE="$DIR/.lock"

# Ports the fetch standard blocks ("bad port"): Node's fetch, used by the tests to reach the
# registry, refuses them however the registry is configured.
FETCH_BLOCKED_PORTS=" 1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110
 111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 532 540 548 554
 556 563 587 601 636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667
 6668 6669 6679 6697 10080 "

STARTED_DOCKERD=""
# acl: setfacl/getfacl, with which the tests check that snapshots carry ACLs.
PACKAGES=(docker.io docker-registry busybox-static acl)
# chromium (+ fonts) is for the dashboard e2e tests, which drive Debian's browser headless; the
# demo sets FLEETWAVE_TEST_ENV_BROWSER=0 because it needs no browser.
[[ "${FLEETWAVE_TEST_ENV_BROWSER:-1}" == "0" ]] || PACKAGES+=(chromium fonts-liberation)
# promtool (Debian's prometheus package) lints the agent's /metrics in the tests; the demo, which
# runs no tests, skips it with the browser.
[[ "${FLEETWAVE_TEST_ENV_BROWSER:-1}" == "0" ]] || PACKAGES+=(prometheus)
# Debian's own CLI matches the daemon's API; /usr/local/bin may hold a newer one, which also works.
DOCKER_CLI="$(command -v docker || echo /usr/bin/docker)"

log() { printf 'test-env: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || printf '%s\n' "$pkg"
  done
}

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) && return 0
  if ((EUID != 0)); then
    log "missing Debian packages: ${missing[*]}"
    log "run as root: DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]} with apt-get"
  local -a install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >"$DIR/apt.log" 2>&1; then
    # Only refresh the package lists when they are the reason the install failed; it is slow.
    log "apt-get install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive apt-get update >>"$DIR/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$DIR/apt.log" 2>&1 || {
      tail -n 30 "$DIR/apt.log" >&2
      die "apt-get install ${missing[*]} failed (log: $DIR/apt.log)"
    }
  fi
}

# pid from a pidfile, printed only when that process is alive and its command line contains $2,
# so a stale pidfile whose pid was reused by something else is never signalled.
live_pid() {
  local file="$1" needle="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle" || return 1
  printf '%s\n' "$pid"
}

docker_answers() {
  # curl's /_ping takes milliseconds where the Go CLI needs half a second just to start; that keeps
  # a repeated `up` (every test run calls it) fast.
  if command -v curl >/dev/null; then
    [[ "$(curl -s --max-time 5 --unix-socket "$SOCK" http://docker/_ping 2>/dev/null)" == OK ]]
  else
    timeout 5 "$DOCKER_CLI" -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1
  fi
}

# GET /v2/ over bash's /dev/tcp so readiness needs neither curl nor wget.
registry_status() {
  local status=""
  # shellcheck disable=SC2016 # the inner script expands $1 itself
  status="$(
    timeout 3 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
      IFS=" " read -r _ code _ <&3 && printf "%s" "$code"
    ' _ "$REGISTRY_PORT" 2>/dev/null
  )" || true
  printf '%s' "$status"
}

# Unmount everything dockerd left under our roots, deepest first (overlay layers, container shm, netns).
unmount_roots() {
  local mnt
  local -a mounts=()
  mapfile -t mounts < <(awk -v a="$DATA_ROOT" -v b="$EXEC_ROOT" \
    '$2 == a || index($2, a "/") == 1 || $2 == b || index($2, b "/") == 1 { print $2 }' /proc/self/mounts |
    sort -r)
  for mnt in "${mounts[@]}"; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "warning: could not unmount $mnt"
  done
}

# overlay2 is much faster than vfs (no full copy per layer), but fails when the data root sits on
# overlayfs itself (docker-in-docker) or the kernel lacks it, so try a real overlay mount there.
choose_storage_driver() {
  if [[ -n "${FLEETWAVE_TEST_STORAGE_DRIVER:-}" ]]; then
    printf '%s\n' "$FLEETWAVE_TEST_STORAGE_DRIVER"
    return
  fi
  # The data root already holds layers for one driver; switching would hide every cached image.
  if [[ -s "$DRIVER_FILE" ]]; then
    cat "$DRIVER_FILE"
    return
  fi
  local probe="$DATA_ROOT/.overlay-probe" driver=vfs
  rm -rf "$probe"
  mkdir -p "$probe"/{lower,upper,work,merged}
  echo probe >"$probe/lower/file"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    if [[ "$(cat "$probe/merged/file" 2>/dev/null)" == probe ]]; then driver=overlay2; fi
    umount "$probe/merged" || umount -l "$probe/merged" || true
  fi
  rm -rf "$probe"
  printf '%s\n' "$driver"
}

start_dockerd() {
  if live_pid "$DOCKERD_PID" dockerd >/dev/null; then return 0; fi
  rm -f "$DOCKERD_PID" "$SOCK"
  unmount_roots
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  ((${#SOCK} < 100)) || die "socket path too long for a unix socket: $SOCK"

  local driver
  driver="$(choose_storage_driver)"
  printf '%s\n' "$driver" >"$DRIVER_FILE"
  # An empty config of our own, so a host /etc/docker/daemon.json cannot change this daemon.
  printf '{}\n' >"$DIR/daemon.json"

  local -a args=(
    --config-file "$DIR/daemon.json"
    --data-root "$DATA_ROOT"
    --exec-root "$EXEC_ROOT"
    --pidfile "$DOCKERD_PID"
    -H "unix://$SOCK"
    --storage-driver "$driver"
    --bridge=none --iptables=false --ip-masq=false
    # If a system containerd is running dockerd reuses it instead of starting its own; separate
    # namespaces keep our containers and images apart from the system engine's.
    --containerd-namespace fleetwave-test --containerd-plugins-namespace fleetwave-test-plugins
    --shutdown-timeout 5
  )
  if dockerd --help 2>&1 | grep -q -- '--ip6tables'; then args+=(--ip6tables=false); fi

  log "starting dockerd (storage driver $driver, socket $SOCK)"
  printf '\n==== %s dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$DOCKERD_LOG"
  setsid nohup dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  # dockerd writes its pidfile only once initialised; until then watch the process we started.
  STARTED_DOCKERD=$!
}

start_registry() {
  if live_pid "$REGISTRY_PID" docker-registry >/dev/null; then return 0; fi
  mkdir -p "$REGISTRY_DIR/storage"
  # No auth and deletion on: tests push, pull by digest and delete manifests freely.
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
  log "starting docker-registry on 127.0.0.1:$REGISTRY_PORT"
  printf '\n==== %s docker-registry\n' "$(date -u +%FT%TZ)" >>"$REGISTRY_LOG"
  # Not a process group leader in a non-interactive shell, so setsid execs in place and $! is the registry.
  setsid nohup docker-registry serve "$REGISTRY_DIR/config.yml" >>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
  printf '%s\n' "$!" >"$REGISTRY_PID"
}

# dockerd logs every grpc connection state change at info level; those lines bury the error.
log_tail() {
  grep -v 'module=grpc' "$1" | tail -n 30 >&2 || true
}

# A check may push the deadline back (dockerd_ready does, when it starts dockerd again).
WAIT_DEADLINE=0
wait_until() {
  local what="$1" logfile="$2" check="$3"
  WAIT_DEADLINE=$((SECONDS + TIMEOUT))
  until "$check"; do
    if ((SECONDS >= WAIT_DEADLINE)); then
      log "$what did not become ready within ${TIMEOUT}s; last lines of $logfile:"
      log_tail "$logfile"
      exit 1
    fi
    sleep 0.2
  done
}

# After a SIGKILL, dockerd leaves its containerd behind and a new dockerd tries to reuse it; on a
# loaded machine that can time out ("failed to start containerd"). Stopping the leftover (the
# containers' shims outlive it) and starting dockerd again is what an operator would do.
DOCKERD_RETRIES=1
dockerd_ready() {
  if ! live_pid "$DOCKERD_PID" dockerd >/dev/null && { [[ -z "$STARTED_DOCKERD" ]] || ! kill -0 "$STARTED_DOCKERD" 2>/dev/null; }; then
    if ((DOCKERD_RETRIES > 0)) && tail -n 5 "$DOCKERD_LOG" | grep -q 'failed to start containerd'; then
      DOCKERD_RETRIES=$((DOCKERD_RETRIES - 1))
      log "dockerd could not reuse the containerd a killed dockerd left behind; stopping it and starting dockerd again"
      stop_leftover_containerd daemon
      start_dockerd
      WAIT_DEADLINE=$((SECONDS + TIMEOUT))
      return 1
    fi
    log "dockerd exited during startup; last lines of $DOCKERD_LOG (without grpc chatter):"
    log_tail "$DOCKERD_LOG"
    exit 1
  fi
  docker_answers
}

registry_ready() {
  if ! live_pid "$REGISTRY_PID" docker-registry >/dev/null; then
    log "docker-registry exited during startup; last lines of $REGISTRY_LOG:"
    log_tail "$REGISTRY_LOG"
    exit 1
  fi
  [[ "$(registry_status)" == 200 ]]
}

with_lock() {
  mkdir -p "$DIR"
  exec 9>"$LOCK_FILE"
  # Parallel test runs all call `up`; serialise them so only one starts the daemons. The daemons
  # are started with fd 9 closed, otherwise they would hold the lock forever.
  flock -w $((TIMEOUT * 3)) 9 || die "timed out waiting for $LOCK_FILE"
}

all_running() {
  docker_answers && live_pid "$DOCKERD_PID" dockerd >/dev/null &&
    live_pid "$REGISTRY_PID" docker-registry >/dev/null && [[ "$(registry_status)" == 200 ]]
}

cmd_up() {
  # Checked before taking the lock: every test run calls `up`, and usually all is running.
  if all_running 2>/dev/null; then
    log "already running"
    return 0
  fi
  if ! [[ "$REGISTRY_PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$REGISTRY_PORT < 1 || 10#$REGISTRY_PORT > 65535)); then
    die "FLEETWAVE_TEST_REGISTRY_PORT must be a TCP port number, not '$REGISTRY_PORT'"
  fi
  if [[ "$FETCH_BLOCKED_PORTS" == *" $REGISTRY_PORT "* ]]; then
    die "registry port $REGISTRY_PORT is on fetch's blocked-port list (Node's fetch says 'bad port'); pick another"
  fi
  if ((EUID != 0)); then
    ensure_packages
    die "dockerd needs root (no rootless mode here); run: sudo $0 up"
  fi
  with_lock
  if all_running; then
    log "already running"
    return 0
  fi
  ensure_packages
  for bin in dockerd containerd runc docker-init docker-registry; do
    command -v "$bin" >/dev/null || die "$bin not found on PATH ($PATH) although its package is installed"
  done
  if ! live_pid "$REGISTRY_PID" docker-registry >/dev/null && [[ -n "$(registry_status)" ]]; then
    die "127.0.0.1:$REGISTRY_PORT answers but is not our registry; set FLEETWAVE_TEST_REGISTRY_PORT"
  fi
  start_dockerd
  start_registry
  wait_until dockerd "$DOCKERD_LOG" dockerd_ready
  wait_until docker-registry "$REGISTRY_LOG" registry_ready
  local root
  root="$("$DOCKER_CLI" -H "unix://$SOCK" info --format '{{.DockerRootDir}}')"
  [[ "$root" == "$DATA_ROOT" ]] || die "daemon on $SOCK uses data root $root, expected $DATA_ROOT"
  log "ready: DOCKER_HOST=unix://$SOCK FLEETWAVE_REGISTRY=127.0.0.1:$REGISTRY_PORT"
}

stop_pid() {
  local name="$1" pid="$2" grace="$3" deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) ignored SIGTERM for ${grace}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

# After a SIGKILL dockerd leaves its containerd and shims behind; they carry our exec root in
# their command line, which no other process on the machine does. "daemon" stops containerd
# alone, so the containers (kept by their shims) live on.
stop_leftover_containerd() {
  local only="${1:-}" file pid cmdline
  local -a leftovers=()
  mapfile -t leftovers < <(grep -alF -- "$EXEC_ROOT/" /proc/[0-9]*/cmdline 2>/dev/null || true)
  for file in "${leftovers[@]}"; do
    pid="${file#/proc/}"
    pid="${pid%/cmdline}"
    cmdline="$(tr '\0' ' ' 2>/dev/null <"$file")" || continue
    [[ "$pid" != "$$" && "$cmdline" == *containerd* ]] || continue
    if [[ "$only" == daemon ]]; then [[ "$(basename "${cmdline%% *}")" == containerd ]] || continue; fi
    log "stopping leftover ${cmdline%% *} (pid $pid)"
    stop_pid containerd "$pid" 10
  done
}

cmd_down() {
  local purge=0
  [[ "${1:-}" == "--purge" ]] && purge=1
  with_lock
  local pid registry_stopper=""
  if pid="$(live_pid "$REGISTRY_PID" docker-registry)"; then
    log "stopping docker-registry (pid $pid)"
    # In the background: both daemons take a couple of seconds to exit, so stop them together.
    stop_pid docker-registry "$pid" 10 &
    registry_stopper=$!
  fi
  if pid="$(live_pid "$DOCKERD_PID" dockerd)"; then
    # Test containers need no graceful stop; killing them first spares dockerd's shutdown wait
    # on bots that ignore SIGTERM (no --init).
    local -a running=()
    mapfile -t running < <(timeout 10 "$DOCKER_CLI" -H "unix://$SOCK" ps -q 2>/dev/null || true)
    if ((${#running[@]} > 0)); then
      log "killing ${#running[@]} running container(s)"
      timeout 20 "$DOCKER_CLI" -H "unix://$SOCK" kill "${running[@]}" >/dev/null 2>&1 || true
    fi
    log "stopping dockerd (pid $pid)"
    stop_pid dockerd "$pid" 45
  fi
  stop_leftover_containerd
  if [[ -n "$registry_stopper" ]]; then wait "$registry_stopper" || true; fi
  rm -f "$DOCKERD_PID" "$SOCK" "$REGISTRY_PID"
  unmount_roots
  if ((purge)); then
    log "removing $DIR"
    rm -rf "$DIR"
  fi
  log "stopped"
}

cmd_env() {
  printf 'export DOCKER_HOST=%q\n' "unix://$SOCK"
  printf 'export FLEETWAVE_REGISTRY=%q\n' "127.0.0.1:$REGISTRY_PORT"
}

cmd_status() {
  local pid rc=0 driver
  driver="$(cat "$DRIVER_FILE" 2>/dev/null || echo unknown)"
  if pid="$(live_pid "$DOCKERD_PID" dockerd)"; then
    if docker_answers; then
      echo "dockerd: running (pid $pid, unix://$SOCK, storage $driver, data $DATA_ROOT)"
    else
      echo "dockerd: process $pid alive but not answering on unix://$SOCK"
      rc=3
    fi
  else
    echo "dockerd: stopped"
    rc=3
  fi
  if pid="$(live_pid "$REGISTRY_PID" docker-registry)"; then
    echo "registry: running (pid $pid, http://127.0.0.1:$REGISTRY_PORT, GET /v2/ -> $(registry_status))"
  else
    echo "registry: stopped"
    rc=3
  fi
  return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down "${2:-}" ;;
env) cmd_env ;;
status) cmd_status ;;
*) usage ;;
esac
