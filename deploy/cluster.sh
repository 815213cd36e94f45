#!/usr/bin/env bash
# A multi-node Tessera on loopback, from Debian's packages (`make cluster`; docs/scaling.md):
#   nginx            http://127.0.0.1:${CLUSTER_PORT:-8000}  (rooms hashed to a node, as deploy/nginx/tessera.conf)
#   2 app nodes      manage.py serve --no-worker, each a node of its own
#   a task worker    manage.py run_huey
#   Redis            channel layer, cache and task queue
#   PostgreSQL       the database
#   2 Janus          the SFUs, rooms placed on the less loaded one (deploy/janus/janus-run.sh)
# Secrets are drawn for the run; everything lives in a temporary directory removed on Ctrl-C. Each process
# runs in a session of its own, so that Ctrl-C reaches this script only, which stops them in order.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
FRONT=${CLUSTER_PORT:-8000}
[ -x "$PY" ] || { echo "Run 'make install' first." >&2; exit 2; }

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || { echo "Missing $1: install Debian's $3 (make system-test-deps as root)." >&2; exit 2; }; }
need nginx /usr/sbin/nginx nginx-light
need redis-server /usr/bin/redis-server redis-server
need janus /usr/bin/janus janus
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "Missing PostgreSQL: install Debian's postgresql (make system-test-deps as root)." >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))'; }
wait_port() {
  for _ in $(seq 1 300); do
    "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "Nothing answered on port $1: see $DIR/*.log" >&2
  return 1
}

DIR=$(mktemp -d -t tessera-cluster-XXXXXX)
chmod 755 "$DIR"
PIDS=()
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
teardown() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the cluster..."
  [ -f "$DIR/nginx.pid" ] && "$NGINX" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log" -s stop 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ -d "$DIR/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap 'teardown; exit 0' INT TERM
trap teardown EXIT

# PostgreSQL, on loopback only.
PGPORT=$(free_port)
mkdir "$DIR/pg"
[ "$(id -u)" = "0" ] && chown postgres:postgres "$DIR/pg"
as_pg "$PGBIN/initdb" -D "$DIR/pg" -A trust -U tessera --encoding=UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -w -l "$DIR/pg/server.log" start \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $DIR/pg" >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U tessera tessera

# Redis: channel layer, cache and queue; nothing written to disk.
REDIS_PORT=$(free_port)
setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$DIR" \
  --logfile "$DIR/redis.log" &
PIDS+=($!)
wait_port "$REDIS_PORT"

# Two Janus, with the same secrets: Tessera holds one API secret and one room admin key.
JANUS_API_SECRET=$(secret)
JANUS_ADMIN_KEY=$(secret)
JANUS_URLS=""
for n in 1 2; do
  port=$(free_port)
  mkdir "$DIR/janus$n"
  JANUS_BIN=$(command -v janus || echo /usr/bin/janus) \
  JANUS_API_SECRET=$JANUS_API_SECRET JANUS_ADMIN_SECRET=$(secret) JANUS_ADMIN_KEY=$JANUS_ADMIN_KEY \
  JANUS_RUN_DIR="$DIR/janus$n/conf" JANUS_WS_PORT=$port JANUS_ADMIN_WS_PORT=$(free_port) \
  JANUS_RTP_PORTS="$((20000 + n * 2000))-$((20000 + n * 2000 + 1999))" \
  JANUS_LOG_FILE="$DIR/janus$n.log" setsid deploy/janus/janus-run.sh >/dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  JANUS_URLS="${JANUS_URLS:+$JANUS_URLS,}ws://127.0.0.1:$port"
done

export DJANGO_SETTINGS_MODULE=tessera.settings.base
export TESSERA_VAR_DIR="$DIR/var"
export TESSERA_SECRET_KEY=$(secret)
export TESSERA_BASE_URL="http://127.0.0.1:$FRONT"
export DATABASE_URL="postgres://tessera@127.0.0.1:$PGPORT/tessera"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export JANUS_URLS JANUS_API_SECRET JANUS_ADMIN_KEY
mkdir -p "$TESSERA_VAR_DIR"
"$PY" manage.py migrate --noinput -v0

# Two app nodes and a task worker.
NODES=()
for n in 1 2; do
  port=$(free_port)
  setsid "$PY" manage.py serve --no-worker --port "$port" >"$DIR/node$n.log" 2>&1 &
  PIDS+=($!)
  NODES+=("$port")
done
setsid "$PY" manage.py run_huey >"$DIR/worker.log" 2>&1 &
PIDS+=($!)
for port in "${NODES[@]}"; do wait_port "$port"; done

# nginx: pages to the less busy node, each room's WebSocket to one node by the room map and hash of
# deploy/nginx/tessera.conf, taken from it as written there.
ROUTING=deploy/nginx/tessera.conf
room_map=$(awk '/^map \$uri \$tessera_room \{/,/^\}/' "$ROUTING")
balancing=$(awk '/^upstream tessera_rooms \{/ {inside = 1} inside && /^ *hash / {print; exit}' "$ROUTING")
[ -n "$room_map" ] && [ -n "$balancing" ] || { echo "$ROUTING lost its room routing." >&2; exit 2; }
servers_app="" servers_rooms=""
for port in "${NODES[@]}"; do
  servers_app+="    server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'
  servers_rooms+="    server 127.0.0.1:$port max_fails=1 fail_timeout=10s;"$'\n'
done
cat >"$DIR/nginx.conf" <<EOF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-body;
  proxy_temp_path $DIR/nginx-proxy;
  upstream tessera_app {
    least_conn;
$servers_app  }
$room_map
  upstream tessera_rooms {
$balancing
$servers_rooms  }
  map \$http_upgrade \$connection_upgrade {
    default upgrade;
    ""      "";
  }
  server {
    listen 127.0.0.1:$FRONT;
    client_max_body_size 6m;
    location /ws/ {
      proxy_pass http://tessera_rooms;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_read_timeout 1h;
    }
    location / {
      proxy_pass http://tessera_app;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
    }
  }
}
EOF
"$NGINX" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log"
wait_port "$FRONT"

cat <<EOF

Tessera cluster on http://127.0.0.1:$FRONT
  app nodes   ${NODES[*]}  (manage.py serve --no-worker)
  worker      manage.py run_huey
  Redis       127.0.0.1:$REDIS_PORT
  PostgreSQL  127.0.0.1:$PGPORT (database tessera, user tessera)
  Janus       $JANUS_URLS
  logs        $DIR
Press Ctrl-C to stop everything.
EOF
wait -n "${PIDS[@]}" || true
echo "A process of the cluster stopped by itself: see its log in $DIR. Stopping the others." >&2
read -r -t 30 -p "Press Enter to stop now (its logs are removed with it). " || true
