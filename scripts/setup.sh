#!/usr/bin/env bash
# Installs, from Debian's archive, what zerocut needs to build, test, demo
# and benchmark: only the packages that are missing.  Safe to run often.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    postgresql-15 postgresql-contrib postgresql-server-dev-15
    libfmt-dev libssl-dev libgtest-dev googletest
    postgresql-15-cron postgresql-15-partman postgresql-15-pgaudit
    libipc-run-perl gnuplot-nox
    clang-format clang-tidy cppcheck
    iproute2 debootstrap faketime openssl pgbouncer
    pgbackrest postgresql-15-auto-failover pg-auto-failover-cli
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "setup: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi
${SUDO:-} apt-get update -qq
${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
