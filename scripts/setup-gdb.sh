#!/bin/sh
# Installs Debian's gdb for `leakhound attach` (it injects the agent into a running
# CPython 3.8-3.13 through gdb) and its tests (test/integration/attach.test.ts),
# only if it is missing.
set -eu
if command -v gdb >/dev/null 2>&1; then
  echo "gdb: $(gdb --version 2>/dev/null | head -n 1)"
  exit 0
fi
sh "$(dirname "$0")/apt-install.sh" gdb
gdb --version | head -n 1
