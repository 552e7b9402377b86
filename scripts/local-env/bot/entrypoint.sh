#!/bin/sh
# Entrypoint of the Fleetwave test bot. What it does is fixed at build time by /srv/behaviour
# (not by env or args, so a container recreated with an older container's Env/Cmd still behaves
# like its image):
#   healthy | unhealthy | never-listens | slow-start N | crash-after N | migrate | corrupt | flaky | gated
# Runtime env: PORT (default 8080, bound on 127.0.0.1 only), DATA_DIR (default /data), FLAKY_ADDR
# (flaky only: 127.0.0.1:<port> asked GET /flaky once at start; healthy only when it answers "ok"),
# GATE_ADDR and GATE_ID (gated only: 127.0.0.1:<port> asked GET /gate/<id> until it answers "ok").
set -eu

PORT="${PORT:-8080}"
DATA_DIR="${DATA_DIR:-/data}"
VERSION="$(cat /version)"
read -r BEHAVIOUR ARG </srv/behaviour || true
ARG="${ARG:-}"
export FW_VERSION="$VERSION"

log() { echo "bot $VERSION ($BEHAVIOUR${ARG:+ $ARG}): $*" >&2; }

# One shell per connection, forked by busybox nc: busybox httpd cannot run a CGI at /health (only
# under /cgi-bin/), and an unhealthy bot must answer 500 there.
serve() {
  export FW_HEALTH="$1"
  log "listening on 127.0.0.1:$PORT, /health answers $FW_HEALTH"
  exec nc -ll -p "$PORT" 127.0.0.1 -e /bin/sh /srv/respond.sh
}

case "$BEHAVIOUR" in
healthy)
  serve ok
  ;;
unhealthy)
  serve error
  ;;
never-listens)
  log "never listening"
  exec sleep 2147483647
  ;;
slow-start)
  log "starting slowly: ${ARG}s"
  sleep "$ARG"
  serve ok
  ;;
crash-after)
  # nc in the background so this shell can exit non-zero; the container stops with it because
  # it is the init's only direct child (or PID 1 itself without --init).
  export FW_HEALTH=ok
  log "listening on 127.0.0.1:$PORT, crashing in ${ARG}s"
  nc -ll -p "$PORT" 127.0.0.1 -e /bin/sh /srv/respond.sh &
  sleep "$ARG"
  log "crashing now"
  exit 3
  ;;
migrate)
  mkdir -p "$DATA_DIR"
  echo "$VERSION" >>"$DATA_DIR/schema-version"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$DATA_DIR/.fleetwave-migrated-$VERSION"
  log "migrated $DATA_DIR to $VERSION"
  serve ok
  ;;
corrupt)
  mkdir -p "$DATA_DIR"
  find "$DATA_DIR" -type f -exec sh -c 'for f; do echo "corrupted by $0" >"$f"; done' "$VERSION" {} +
  echo "junk $VERSION" >"$DATA_DIR/.a"
  echo "junk $VERSION" >"$DATA_DIR/..b"
  echo "junk $VERSION" >"$DATA_DIR/junk-$VERSION"
  mkdir -p "$DATA_DIR/corrupted-$VERSION"
  echo "junk $VERSION" >"$DATA_DIR/corrupted-$VERSION/junk"
  log "corrupted $DATA_DIR"
  serve error
  ;;
flaky)
  # nc, not wget: busybox wget with -O - segfaulted in this FROM-scratch image.
  addr="${FLAKY_ADDR:-127.0.0.1:9}"
  answer="$(printf 'GET /flaky HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" | nc -w 5 "${addr%:*}" "${addr#*:}" | tail -n 1)" || true
  log "http://$addr/flaky answered: $answer"
  if [ "$answer" = ok ]; then serve ok; else serve error; fi
  ;;
gated)
  # Not listening until the test releases this bot: it stays running and unhealthy for exactly
  # as long as the test needs, without any timing of its own.
  addr="${GATE_ADDR:-127.0.0.1:9}"
  until [ "$(printf 'GET /gate/%s HTTP/1.0\r\nHost: %s\r\n\r\n' "${GATE_ID:-}" "$addr" | nc -w 5 "${addr%:*}" "${addr#*:}" | tail -n 1)" = ok ]; do
    sleep 0.2
  done
  log "released by http://$addr/gate/${GATE_ID:-}"
  serve ok
  ;;
*)
  log "unknown behaviour"
  exit 64
  ;;
esac
