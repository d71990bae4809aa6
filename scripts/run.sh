#!/usr/bin/env bash
# `make run`: the host with its embedded Postgres and every shipped backend,
# ready to use. A local control plane (molecule-cp-local) runs beside it so
# the CP backend works out of the box. Everything lives in .molecule/ (or
# $MOLECULE_DATA_DIR). Ctrl-C stops the host and the control plane;
# workspaces keep running, as instances outlive a real control plane's
# restart: the next `make run` re-adopts the CP instances (molecule-cp-local
# reconciles its records with the processes still alive) and their agents
# reconnect. Stop or delete workspaces through the API.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${MOLECULE_DATA_DIR:-$PWD/.molecule}
LISTEN=${MOLECULE_LISTEN:-127.0.0.1:8080}
mkdir -p "$DATA/cp"
# Other users may not list or read the data dir; they may search it, so the
# embedded Postgres (the postgres user, when run as root) reaches its cluster
# and molecule-cp-local's instances (nobody, when run as root) their disks.
chmod 711 "$DATA"

secret_file() { # a random secret kept in the data dir, so restarts keep it
	local f="$DATA/$1"
	[[ -s $f ]] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$f")
	chmod 600 "$f"
	cat "$f"
}
CP_SECRET=$(secret_file cp-shared-secret)
CP_ADMIN=$(secret_file cp-admin-token)

rm -f "$DATA/cp/ready.json"
bin/molecule-cp-local --data-dir "$DATA/cp" --shared-secret-file "$DATA/cp-shared-secret" \
	--admin-token-file "$DATA/cp-admin-token" \
	--ready-file "$DATA/cp/ready.json" >>"$DATA/cp/cp-local.log" 2>&1 &
CP_PID=$!
trap 'kill $CP_PID 2>/dev/null; wait $CP_PID 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
	[[ -s $DATA/cp/ready.json ]] && break
	kill -0 $CP_PID 2>/dev/null || { echo "molecule-cp-local failed; see $DATA/cp/cp-local.log" >&2; exit 1; }
	sleep 0.1
done
CP_URL=$(sed -E 's/.*"url":"([^"]+)".*/\1/' "$DATA/cp/ready.json")

cat >"$DATA/backends.json" <<JSON
{
  "docker": {},
  "cp": {"url": "$CP_URL", "shared_secret": "$CP_SECRET", "admin_token": "$CP_ADMIN"},
  "fake": {}
}
JSON
chmod 600 "$DATA/backends.json"

echo "local control plane: $CP_URL (log: $DATA/cp/cp-local.log)"
echo "admin token: $DATA/admin-token    API: http://$LISTEN"
MOLECULE_DATA_DIR=$DATA MOLECULE_LISTEN=$LISTEN MOLECULE_PLUGIN_DIR=$PWD/bin/plugins \
	MOLECULE_BACKEND_CONFIG=$DATA/backends.json bin/molecule-host serve
