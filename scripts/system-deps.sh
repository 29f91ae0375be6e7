#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (an exporter, a reference
# collector, a PostgreSQL server, tcpdump-free pcap tooling).  Idempotent; needs root or sudo.
set -euo pipefail

packages=(softflowd nfdump postgresql)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "system-deps: need root to install: ${missing[*]}" >&2; exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The PostgreSQL package's default cluster is not used: tests start their own server.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
