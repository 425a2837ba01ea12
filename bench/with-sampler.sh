#!/usr/bin/env bash
# Runs `python file.py` with only leakhound's collector loaded in-process (no host).
# For overhead.mjs: node ../shared/workloads/overhead.mjs --tool "$PWD/bench/with-sampler.sh" --python python3.12
# usage: with-sampler.sh -- <python> [flags] file.py
# env: LEAKHOUND_SAMPLE_BYTES, LEAKHOUND_NFRAMES, LEAKHOUND_INTERVAL, LEAKHOUND_BENCH_COLLECTOR=tracemalloc
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ "${1:-}" = "--" ] && shift
export LEAKHOUND_BENCH_AGENT="$here/../agent"
export PYTHONPATH="$here/sampler-site${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
