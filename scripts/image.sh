#!/bin/sh
# image.sh builds the workspace image (default molecule-workspace:dev) from
# scratch: the static molecule-agent as /molecule-agent (the entrypoint),
# plus the empty mount points the Docker backend uses: /configs (root's),
# /workspace and /run/molecule (owned by 65532:65532, the user workspaces
# run as: Docker gives a new named volume the owner of its mount point, so
# the workspace volume is writable by that user) and /tmp (1777). No
# registry is used: the root filesystem is a tar imported with `docker
# import`.
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
RECIPE=2

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
trap 'rm -rf "$root" "$root.tar"' EXIT
mkdir -p "$root/configs" "$root/tmp" "$root/workspace" "$root/run/molecule"
chmod 0755 "$root/configs" "$root/workspace" "$root/run" "$root/run/molecule"
chmod 1777 "$root/tmp"
cp "$AGENT_BIN" "$root/molecule-agent"
# Two tar passes so ownership is set per entry without needing root here.
tar -C "$root" --owner=0 --group=0 --numeric-owner --no-recursion -cf "$root.tar" molecule-agent configs tmp run
tar -C "$root" --owner=65532 --group=65532 --numeric-owner -rf "$root.tar" workspace run/molecule
$DOCKER import \
	-c 'ENTRYPOINT ["/molecule-agent"]' \
	-c 'ENV MOLECULE_CONFIG_DIR=/configs' \
	-c 'USER 65532:65532' \
	-c "LABEL $LABEL=$sum" \
	-c "LABEL molecule.image-recipe=$RECIPE" \
	"$root.tar" "$IMAGE" >/dev/null
# Drop the image this one replaced (it fails harmlessly while a container uses it).
[ -n "$old" ] && $DOCKER image rm "$old" >/dev/null 2>&1 || true
echo "image.sh: built $IMAGE (agent sha256 $sum)"
