#!/usr/bin/env bash
# Builds zerocut from the tree ROOT and installs it into a private copy of
# the PostgreSQL installation (like PostgreSQL's own `make check`), so tests
# run against exactly this tree's build and never against, or into, the
# system installation.  Prints the private bindir.
#   usage: scripts/tmp_install.sh ROOT
# PostgreSQL finds its share/ and lib/ relative to its own binary, so a copy
# of bin/, lib/ and share/ with the same layout is self-contained.
set -euo pipefail

ROOT=$(cd "${1:?usage: tmp_install.sh ROOT}" && pwd)
PGBIN=$(pg_config --bindir)            # /usr/lib/postgresql/15/bin
PGHOME=$(dirname "$PGBIN")             # /usr/lib/postgresql/15
PGSHARE=$(pg_config --sharedir)        # /usr/share/postgresql/15
# One copy per tree and per PostgreSQL build: a minor upgrade or a newly
# installed extension package (pg_cron, pg_partman) gives a fresh copy.
STAMP=$( (echo "$ROOT"; pg_config --version; ls -l --time-style=+%s "$PGBIN/postgres"; ls "$(pg_config --pkglibdir)") | md5sum | cut -c1-12)
DEST=/tmp/zerocut-tmp-install-$(id -u)-$STAMP

# Reuse only a copy this user made.
if [ -e "$DEST" ] && [ "$(stat -c %u "$DEST")" != "$(id -u)" ]; then
    echo "tmp_install: $DEST belongs to another user; remove it" >&2
    exit 1
fi
if [ ! -x "$DEST$PGBIN/postgres" ]; then
    rm -rf "$DEST"
    mkdir -p "$DEST$(dirname "$PGHOME")" "$DEST$(dirname "$PGSHARE")"
    cp -a "$PGHOME" "$DEST$(dirname "$PGHOME")/"
    cp -a "$PGSHARE" "$DEST$(dirname "$PGSHARE")/"
fi
make -C "$ROOT" -s -j2 all >&2
make -C "$ROOT" -s install DESTDIR="$DEST" >&2
chmod -R a+rX "$DEST"
chmod a+rx "$DEST"
echo "$DEST$PGBIN"
