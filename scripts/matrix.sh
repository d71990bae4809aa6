#!/usr/bin/env bash
# Runs the conformance suite against every shipped backend (fake, Docker, and
# CP against a local control plane it starts), then either rewrites
# docs/backends.md (`write`) or fails when the committed file differs from
# what the results render (`check`). Either way it fails when a backend's
# declared capability fails.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?usage: matrix.sh write|check}

WORK=$(mktemp -d /tmp/mh-matrix.XXXXXX)
chmod 755 "$WORK"
CP_PID=
cleanup() {
	[[ -n $CP_PID ]] && { kill "$CP_PID" 2>/dev/null; wait "$CP_PID" 2>/dev/null || true; }
	rm -rf "$WORK"
}
trap cleanup EXIT

SECRET=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
ADMIN=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$WORK/cp"
MOLECULE_CP_SHARED_SECRET=$SECRET MOLECULE_CP_ADMIN_TOKEN=$ADMIN bin/molecule-cp-local --data-dir "$WORK/cp" \
	--ready-file "$WORK/cp/ready.json" --kill-instances-on-exit >"$WORK/cp-local.log" 2>&1 &
CP_PID=$!
for _ in $(seq 1 100); do
	[[ -s $WORK/cp/ready.json ]] && break
	kill -0 "$CP_PID" 2>/dev/null || { cat "$WORK/cp-local.log" >&2; exit 1; }
	sleep 0.1
done
CP_URL=$(sed -E 's/.*"url":"([^"]+)".*/\1/' "$WORK/cp/ready.json")
cat >"$WORK/backends.json" <<JSON
{"docker": {}, "cp": {"url": "$CP_URL", "shared_secret": "$SECRET", "admin_token": "$ADMIN"}, "fake": {"state_dir": "\${CONFORMANCE_TMP}/fake-state"}}
JSON

RESULTS=${RESULTS:-conformance-results}
rm -rf "$RESULTS"
status=0
bin/molecule-conformance run --host bin/molecule-host --backend-config "$WORK/backends.json" --out "$RESULTS" \
	--plugin bin/plugins/molecule-backend-fake --plugin bin/plugins/molecule-backend-docker \
	--plugin bin/plugins/molecule-backend-cp || status=$?

case $MODE in
write) bin/molecule-conformance matrix --results "$RESULTS" --out docs/backends.md ;;
check) bin/molecule-conformance check --results "$RESULTS" --file docs/backends.md ;;
*) echo "usage: matrix.sh write|check" >&2; exit 2 ;;
esac
if [[ $status -ne 0 ]]; then
	echo "conformance: a declared capability failed (see $RESULTS/)" >&2
	exit "$status"
fi
