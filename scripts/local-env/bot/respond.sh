#!/bin/sh
# Answers one HTTP request on stdin/stdout (run by `nc -ll -e` per connection).
#   GET /health   200 {"status":"ok","version":"<v>"} when FW_HEALTH=ok, else 500
#   GET /version  200 <v>
#   anything else 404
cr="$(printf '\r')"

# shellcheck disable=SC3045 # busybox ash has read -t; it stops a silent client pinning a shell
IFS= read -r -t 10 request || exit 0
# Read the whole request head before answering: closing a socket with unread input makes the
# kernel send RST, and the client may then lose the response.
# shellcheck disable=SC3045
while IFS= read -r -t 10 line; do
  line="${line%"$cr"}"
  [ -z "$line" ] && break
done

request="${request%"$cr"}"
path="${request#* }"
path="${path%% *}"
path="${path%%\?*}"

send() {
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#3}" "$3"
}

case "$path" in
/health)
  if [ "${FW_HEALTH:-}" = ok ]; then
    send "200 OK" application/json "{\"status\":\"ok\",\"version\":\"$FW_VERSION\"}"
  else
    send "500 Internal Server Error" application/json "{\"status\":\"error\",\"version\":\"$FW_VERSION\"}"
  fi
  ;;
/version)
  send "200 OK" text/plain "$FW_VERSION"
  ;;
*)
  send "404 Not Found" text/plain "not found"
  ;;
esac
