#!/usr/bin/env bash
# Builds the native sampling extension for every CPython 3.8+ on the machine, so
# tests do not pay the first-use build. A failure is not fatal: the agent falls back.
set -u
cd "$(dirname "$0")/.."
pythons=()
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/3.*/bin/python3 /usr/bin/python3; do [ -x "$p" ] && pythons+=("$p"); done
for py in "${pythons[@]}"; do
  if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null; then
    if [ -f agent/leakhound_agent/native/build.py ]; then
      PYTHONPATH=agent "$py" -m leakhound_agent.native.build --shim >/dev/null 2>&1 \
        && echo "native sampler ready for $py" || echo "native sampler not built for $py (fallback will be used)"
    fi
  fi
done
exit 0
