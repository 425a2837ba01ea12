#!/bin/sh
# Installs the tools the tests read leakhound's outputs with, only if they are missing:
# Go's own pprof reader (`go tool pprof`, Debian's golang-go) for `leakhound export --format pprof`.
set -eu
if command -v go >/dev/null 2>&1 && go tool pprof -h >/dev/null 2>&1; then
  echo "go: $(go version)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-tools: 'go' is missing and apt-get is not available; install Go (it ships 'go tool pprof')" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends golang-go
go version
