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
for tool in podman debootstrap curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install podman debootstrap curl" >&2; exit 2; }
done
podman=(podman --storage-driver vfs)
rootfs=${DURO_ROOTFS:-/var/tmp/duro-rootfs}
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv,git \
    bookworm "$rootfs" http://deb.debian.org/debian
fi
base=localhost/duro-debian-base:bookworm
"${podman[@]}" image exists "$base" || tar -C "$rootfs" -c . | "${podman[@]}" import - "$base"

context=$(mktemp -d)
trap 'rm -rf "$context"; "${podman[@]}" rm -f duro-test >/dev/null 2>&1 || true' EXIT
git ls-files -z | xargs -0 tar -c | tar -x -C "$context"
mkdir -p "$context/prebuilt"
cp "$binary" "$context/prebuilt/duro"
"${podman[@]}" build --build-arg BUILDER="$base" --build-arg BASE="$base" -t localhost/duro:test "$context"

run() { "${podman[@]}" run --rm --network host localhost/duro:test "$@"; }
run --version
[ "$("${podman[@]}" run --rm --entrypoint id localhost/duro:test -un)" = duro ]
"${podman[@]}" run --rm --entrypoint sh localhost/duro:test -c \
  'cd /srv/duro && duro init . >/dev/null && duro check && python3 -m venv /tmp/venv && /tmp/venv/bin/python -c "print(\"venv ok\")"'
"${podman[@]}" run -d --name duro-test --network host -e DURO_WEB_TOKEN=container-test \
  localhost/duro:test up --bind 127.0.0.1:18088 >/dev/null
for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:18088/healthz 2>/dev/null && { echo; echo "container test passed"; exit 0; }
  sleep 0.2
done
"${podman[@]}" logs duro-test >&2
echo "the web UI did not answer /healthz" >&2
exit 1
