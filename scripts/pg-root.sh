#!/usr/bin/env bash
# A Debian 13 (trixie) root folder with PostgreSQL VERSION from Debian's
# packages, for building and testing zerocut beside the machine's own
# PostgreSQL 15 (Debian 12 has no PostgreSQL 17).  Built once with
# debootstrap from the mirror of this machine's apt sources, and kept: it is
# rebuilt only when its package list (this script) changes.  Prints the
# root folder's path.
#   usage: scripts/pg-root.sh 17
# Needs root (debootstrap, chroot).  Run commands in it with
# scripts/pg-root.sh --run 17 CMD...  (mounts /proc and a tmpfs on /dev/shm
# for the command's life; PostgreSQL needs both).
# scripts/pg-root.sh --copy-tree 17 TREE  copies a zerocut tree (sources and
# tests, no build products) to /zerocut-test inside the root, replacing
# the last copy, with the released sources the upgrade test builds in
# /zerocut-old (the copy has no .git).
set -euo pipefail

run=
copy_tree=
if [ "${1:-}" = --run ]; then run=1; shift; fi
if [ "${1:-}" = --copy-tree ]; then copy_tree=1; shift; fi
VERSION=${1:?usage: pg-root.sh [--run] VERSION [CMD...]}
shift
case "$VERSION" in 17) SUITE=trixie ;; *) echo "pg-root: no Debian root known for PostgreSQL $VERSION" >&2; exit 1 ;; esac
DIR=${ZC_PG_ROOT_CACHE:-/var/cache/zerocut}/pg-root-$VERSION

packages=(
    postgresql-$VERSION postgresql-server-dev-$VERSION postgresql-contrib
    postgresql-$VERSION-cron postgresql-$VERSION-partman postgresql-$VERSION-pgaudit
    postgresql-$VERSION-auto-failover pg-auto-failover-cli pgbackrest
    build-essential cmake pkg-config libfmt-dev libssl-dev libgtest-dev googletest
    libipc-run-perl iproute2 procps openssl pgbouncer
)
STAMP=$( (echo "$SUITE"; printf '%s\n' "${packages[@]}") | md5sum | cut -c1-16)

# The mirror this machine installs from (deb822 or one-line sources).
mirror() {
    local uri
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$uri" ] || { echo "pg-root: no Debian mirror in /etc/apt/sources*" >&2; return 1; }
    echo "$uri"
}

build() {
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    local url tmp
    url=$(mirror)
    tmp=$DIR.building
    rm -rf "$tmp"
    mkdir -p "$(dirname "$DIR")"
    echo "pg-root: debootstrap $SUITE from $url into $DIR" >&2
    debootstrap --variant=minbase "$SUITE" "$tmp" "$url" >"$tmp.log" 2>&1 || { tail -n 30 "$tmp.log" >&2; exit 1; }
    echo "deb $url $SUITE main" >"$tmp/etc/apt/sources.list"
    chroot "$tmp" apt-get update -qq >&2
    chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >"$tmp.log" 2>&1 \
        || { tail -n 30 "$tmp.log" >&2; exit 1; }
    chroot "$tmp" apt-get clean
    echo "$STAMP" >"$tmp/.zerocut-stamp"
    rm -rf "$DIR"
    mv "$tmp" "$DIR"
    rm -f "$tmp.log"
}

if [ "$(cat "$DIR/.zerocut-stamp" 2>/dev/null)" != "$STAMP" ]; then
    [ "$(id -u)" = 0 ] || { echo "pg-root: building $DIR needs root" >&2; exit 1; }
    build
fi

if [ -n "$copy_tree" ]; then
    TREE=$(cd "${1:?usage: pg-root.sh --copy-tree VERSION TREE}" && pwd)
    rm -rf "$DIR/zerocut-test" "$DIR/zerocut-old"
    mkdir -p "$DIR/zerocut-test" "$DIR/zerocut-old"
    (cd "$TREE" && tar --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude=./build --exclude=./.git \
        --exclude=./test/output --exclude='./zerocut--*.sql' -cf - .) | tar -xf - -C "$DIR/zerocut-test"
    read -r _ old_commit <"$TREE/upgrade/RELEASES"
    git -C "$TREE" archive "$old_commit" | tar -x -C "$DIR/zerocut-old"
    exit 0
fi
if [ -z "$run" ]; then
    echo "$DIR"
    exit 0
fi
# --run: mount what PostgreSQL needs for the command's life only.
mounted=()
cleanup() { for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mountpoint -q "$DIR/proc" || { mount -t proc proc "$DIR/proc" && mounted+=("$DIR/proc"); }
mkdir -p "$DIR/dev/shm"
mountpoint -q "$DIR/dev/shm" || { mount -t tmpfs -o size=1g tmpfs "$DIR/dev/shm" && mounted+=("$DIR/dev/shm"); }
chroot "$DIR" "$@"
