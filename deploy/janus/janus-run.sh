#!/bin/sh
# Start Janus with deploy/janus/*.jcfg, its secrets taken from the environment.
# The templates are copied into a private folder (mode 700, files 600) with every @NAME@ replaced, then
# Janus replaces this shell (exec), so a service manager signals Janus itself.
#   JANUS_API_SECRET, JANUS_ADMIN_SECRET, JANUS_ADMIN_KEY  required, 32+ characters of [A-Za-z0-9_-]
#   JANUS_RUN_DIR          where the filled-in configuration goes (default: $RUNTIME_DIRECTORY or a new temp dir)
#   JANUS_WS_IP            address of the Janus API (default 127.0.0.1), JANUS_WS_ACL (default "127.")
#   JANUS_WS_PORT          (default 8188), JANUS_ADMIN_WS_PORT (default 7188, always on loopback)
#   JANUS_RTP_PORTS        (default 20000-40000), JANUS_SESSION_TIMEOUT (default 60)
#   JANUS_NAT_1_1          public address of a host behind a 1:1 NAT (optional)
#   JANUS_LOG_FILE         log file (default: standard output only)
set -eu
here=$(cd "$(dirname "$0")" && pwd)

for name in JANUS_API_SECRET JANUS_ADMIN_SECRET JANUS_ADMIN_KEY; do
  eval "value=\${$name:-}"
  # Only URL-safe characters: the value goes into a quoted jcfg string through sed, unescaped.
  if ! printf '%s' "$value" | grep -Eq '^[A-Za-z0-9_-]{32,}$'; then
    echo "janus-run: $name must be 32 or more characters of A-Z a-z 0-9 _ - (e.g. openssl rand -hex 32)" >&2
    exit 64
  fi
done

: "${JANUS_WS_IP:=127.0.0.1}" "${JANUS_WS_ACL:=127.}" "${JANUS_WS_PORT:=8188}" "${JANUS_ADMIN_WS_PORT:=7188}"
: "${JANUS_RTP_PORTS:=20000-40000}" "${JANUS_SESSION_TIMEOUT:=60}" "${JANUS_NAT_1_1:=}" "${JANUS_LOG_FILE:=}"
for check in "$JANUS_WS_PORT" "$JANUS_ADMIN_WS_PORT" "$JANUS_SESSION_TIMEOUT"; do
  case "$check" in ''|*[!0-9]*) echo "janus-run: ports and timeouts are numbers" >&2; exit 64;; esac
done
printf '%s' "$JANUS_RTP_PORTS" | grep -Eq '^[0-9]+-[0-9]+$' || { echo "janus-run: JANUS_RTP_PORTS is min-max" >&2; exit 64; }
printf '%s' "$JANUS_WS_IP$JANUS_WS_ACL$JANUS_NAT_1_1" | grep -Eq '^[0-9A-Fa-f.:,]*$' || { echo "janus-run: addresses only" >&2; exit 64; }

umask 077
run_dir=${JANUS_RUN_DIR:-${RUNTIME_DIRECTORY:-$(mktemp -d)}}
mkdir -p "$run_dir"
for template in "$here"/janus.jcfg "$here"/janus.transport.websockets.jcfg "$here"/janus.plugin.videoroom.jcfg; do
  sed -e "s|@JANUS_CONF_DIR@|$run_dir|g" \
      -e "s|@JANUS_API_SECRET@|$JANUS_API_SECRET|g" \
      -e "s|@JANUS_ADMIN_SECRET@|$JANUS_ADMIN_SECRET|g" \
      -e "s|@JANUS_ADMIN_KEY@|$JANUS_ADMIN_KEY|g" \
      -e "s|@JANUS_WS_IP@|$JANUS_WS_IP|g" \
      -e "s|@JANUS_WS_ACL@|$JANUS_WS_ACL|g" \
      -e "s|@JANUS_WS_PORT@|$JANUS_WS_PORT|g" \
      -e "s|@JANUS_ADMIN_WS_PORT@|$JANUS_ADMIN_WS_PORT|g" \
      -e "s|@JANUS_RTP_PORTS@|$JANUS_RTP_PORTS|g" \
      -e "s|@JANUS_SESSION_TIMEOUT@|$JANUS_SESSION_TIMEOUT|g" \
      "$template" > "$run_dir/$(basename "$template")"
done
# The secrets are in the files now: keep them out of the environment Janus and its children inherit.
unset JANUS_API_SECRET JANUS_ADMIN_SECRET JANUS_ADMIN_KEY

set -- --config="$run_dir/janus.jcfg" --configs-folder="$run_dir" --disable-colors
[ -n "$JANUS_NAT_1_1" ] && set -- "$@" --nat-1-1="$JANUS_NAT_1_1"
[ -n "$JANUS_LOG_FILE" ] && set -- "$@" --log-file="$JANUS_LOG_FILE"
exec "${JANUS_BIN:-/usr/bin/janus}" "$@"
