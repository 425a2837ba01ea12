#!/bin/sh
# Installs the Debian packages the tests run for real, only those missing:
#   golang-go      `go tool pprof` reads `leakhound export --format pprof`
#   gunicorn       a real prefork server whose workers leak (worker processes)
#   python3-flask  the app gunicorn serves
#   python3-pytest pytest suites run under leakhound
#   gdb            `leakhound attach` injects its agent through it (and its tests run it)
#   python3-numpy, python3-pil, python3-lxml  native memory with a Python owner (test/integration/native-owners.test.ts)
#   mercurial      a real program that imports lazily (demandimport): it must still exit (test/integration/cli-exit.test.ts)
set -eu
missing=""
need() { # need PACKAGE CHECK...
  pkg=$1; shift
  if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
need golang-go sh -c 'go tool pprof -h'
need gunicorn sh -c 'command -v gunicorn'
need python3-flask /usr/bin/python3 -c 'import flask'
need python3-pytest /usr/bin/python3 -c 'import pytest'
need gdb sh -c 'command -v gdb'
need python3-numpy /usr/bin/python3 -c 'import numpy'
need python3-pil /usr/bin/python3 -c 'import PIL.Image'
need python3-lxml /usr/bin/python3 -c 'import lxml.etree'
need mercurial sh -c 'command -v hg'
if [ -z "$missing" ]; then
  echo "setup-tools: golang-go, gunicorn, python3-flask, python3-pytest, gdb, python3-numpy, python3-pil, python3-lxml, mercurial present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-tools: missing$missing and apt-get is not available; install them" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "setup-tools: installing$missing"
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
