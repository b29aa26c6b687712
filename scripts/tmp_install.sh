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
DEST=/tmp/zerocut-tmp-install-$(id -u)-$(echo "$ROOT" | md5sum | cut -c1-10)

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
