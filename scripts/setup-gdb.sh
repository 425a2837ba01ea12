#!/bin/sh
# Installs Debian's gdb for `leakhound attach` (it injects the agent into a running
# CPython 3.8-3.13 through gdb) and its tests (test/integration/attach.test.ts),
# only if it is missing.
set -eu
if command -v gdb >/dev/null 2>&1; then
  echo "gdb: $(gdb --version 2>/dev/null | head -n 1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-gdb: gdb is missing and apt-get is not available; install gdb (leakhound attach needs it)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends gdb
gdb --version | head -n 1
