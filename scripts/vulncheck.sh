#!/bin/sh
# vulncheck.sh runs govulncheck (a go tool of this module, see go.mod) on
# every package when its vulnerability database can be reached, and fails
# when a vulnerability is reachable from our code. When the database
# cannot be reached (a machine that sees only the Go module proxy), it says
# so in one line and passes: the check is skipped, not failed.
set -eu
cd "$(dirname "$0")/.."

db=${GOVULNDB:-https://vuln.go.dev}
if command -v curl >/dev/null 2>&1; then
	if ! curl -sfm 5 -o /dev/null "$db/index/db.json.gz"; then
		echo "govulncheck: skipped: vulnerability database $db is unreachable"
		exit 0
	fi
	exec ${GO:-go} tool govulncheck -db "$db" ./...
fi

# No curl: let govulncheck try, and tell its fetch error from findings.
if out=$(${GO:-go} tool govulncheck -db "$db" ./... 2>&1); then
	printf '%s\n' "$out"
	exit 0
fi
case $out in
*"fetching vulnerabilities"*)
	echo "govulncheck: skipped: vulnerability database $db is unreachable"
	exit 0
	;;
esac
printf '%s\n' "$out"
exit 1
