#!/bin/sh
# apt-install.sh PACKAGE...: installs Debian packages with apt-get (through sudo when not
# root), for the set-up scripts (setup-browser.sh, setup-gdb.sh) once they found something missing.
set -eu
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: apt-get is not available; install $* yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"
