#!/usr/bin/env bash
# Builds the Dockerfile with podman and runs the image, on a machine without an image registry:
# the base image is Debian made by debootstrap from Debian's own packages and imported, the
# binary is one built outside (the Dockerfile skips its compilation when the context holds it).
# Checks: the binary runs as the unprivileged user, `duro init` and `duro check` work in
# /srv/duro, Python can make a processor's virtual environment, and the web UI answers /healthz.
#
# Usage (as root): scripts/container-test.sh [BINARY]
#   BINARY defaults to $CARGO_TARGET_DIR/release/duro (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-${CARGO_TARGET_DIR:-target}/release/duro}
[ -x "$binary" ] || { echo "no binary at $binary: build one, or name it" >&2; exit 2; }
for tool in podman buildah debootstrap curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install podman buildah debootstrap curl" >&2; exit 2; }
done
# vfs storage and chroot isolation work without overlayfs and where the host's cgroups are in
# hybrid mode (crun refuses to create containers there).
podman=(podman --storage-driver vfs --cgroup-manager cgroupfs)
rootfs=${DURO_ROOTFS:-/var/tmp/duro-rootfs}
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv,git \
    bookworm "$rootfs" http://deb.debian.org/debian
fi
base=localhost/duro-debian-base:bookworm
"${podman[@]}" image exists "$base" || tar -C "$rootfs" -c . | "${podman[@]}" import - "$base"

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
git ls-files -z | xargs -0 tar -c | tar -x -C "$context"
mkdir -p "$context/prebuilt"
cp "$binary" "$context/prebuilt/duro"
"${podman[@]}" build --isolation chroot --build-arg BUILDER="$base" --build-arg BASE="$base" -t localhost/duro:test "$context"

# The image's entrypoint and user, run the way its RUN steps were (chroot isolation, the host's
# network): crun cannot start containers where the host forbids it setting rlimits.
buildah=(buildah --storage-driver vfs)
container=$("${buildah[@]}" from localhost/duro:test)
trap 'rm -rf "$context"; "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true' EXIT
in_image() { "${buildah[@]}" run --isolation chroot --user duro --workingdir /srv/duro "$container" -- "$@"; }
in_image duro --version
[ "$(in_image id -un)" = duro ]
in_image sh -c 'duro init . >/dev/null && duro check && python3 -m venv /tmp/venv && /tmp/venv/bin/python -c "print(\"venv ok\")"'
in_image env DURO_WEB_TOKEN=container-test duro up --bind 127.0.0.1:18088 >/tmp/duro-container-up.log 2>&1 &
up=$!
for _ in $(seq 1 100); do
  if curl -fsS http://127.0.0.1:18088/healthz 2>/dev/null; then
    echo; kill "$up"; wait "$up" 2>/dev/null || true
    echo "container test passed"; exit 0
  fi
  sleep 0.2
done
kill "$up" 2>/dev/null || true
cat /tmp/duro-container-up.log >&2
echo "the web UI did not answer /healthz" >&2
exit 1
