#!/usr/bin/env bash
# Installs what the build and the tests need and a fresh machine may lack:
# the PostgreSQL server binaries (the host and the tests run their own
# throwaway clusters from them). Docker must already be running.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
	echo "deps: installing the PostgreSQL server from Debian" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq postgresql >/dev/null
fi
if ! id postgres >/dev/null 2>&1; then
	echo "deps: the postgres user is missing; install the postgresql package" >&2
	exit 1
fi
if ! docker info >/dev/null 2>&1; then
	echo "deps: the Docker engine is not reachable (docker info failed); the Docker backend tests need it" >&2
	exit 1
fi
