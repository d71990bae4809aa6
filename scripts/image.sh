#!/bin/sh
# image.sh builds the workspace image (default molecule-workspace:dev) from
# scratch: the static molecule-agent as /molecule-agent (the entrypoint),
# plus an empty /configs and /tmp. No registry is used: the root filesystem
# is a tar imported with `docker import`.
#
# Idempotent and quick: the image carries the label molecule.agent-sha256;
# when it matches the freshly built agent, the import is skipped.
#
# Env: IMAGE (tag, default molecule-workspace:dev), DOCKER (CLI, default
# docker), AGENT_BIN (output path, default bin/molecule-agent).
set -eu
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-molecule-workspace:dev}
DOCKER=${DOCKER:-docker}
AGENT_BIN=${AGENT_BIN:-bin/molecule-agent}
LABEL=molecule.agent-sha256
# RECIPE changes whenever this script changes what goes into the image, so
# an image built by an older recipe is rebuilt even if the agent is equal.
RECIPE=1

mkdir -p "$(dirname "$AGENT_BIN")"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$AGENT_BIN" ./cmd/molecule-agent
sum=$(sha256sum "$AGENT_BIN" | cut -d' ' -f1)

have=$($DOCKER image inspect --format "{{ index .Config.Labels \"$LABEL\" }}/{{ index .Config.Labels \"molecule.image-recipe\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$sum/$RECIPE" ]; then
	echo "image.sh: $IMAGE is up to date (agent sha256 $sum)"
	exit 0
fi

old=$($DOCKER image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/configs" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$AGENT_BIN" "$root/molecule-agent"
tar -C "$root" --owner=0 --group=0 --numeric-owner -cf "$root.tar" molecule-agent configs tmp
trap 'rm -rf "$root" "$root.tar"' EXIT
$DOCKER import \
	-c 'ENTRYPOINT ["/molecule-agent"]' \
	-c 'ENV MOLECULE_CONFIG_DIR=/configs' \
	-c "LABEL $LABEL=$sum" \
	-c "LABEL molecule.image-recipe=$RECIPE" \
	"$root.tar" "$IMAGE" >/dev/null
# Drop the image this one replaced (it fails harmlessly while a container uses it).
[ -n "$old" ] && $DOCKER image rm "$old" >/dev/null 2>&1 || true
echo "image.sh: built $IMAGE (agent sha256 $sum)"
