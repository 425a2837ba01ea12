#!/usr/bin/env bash
# Deterministic overhead: instructions executed (valgrind cachegrind "I refs") by each workload
# with and without the sampling collector, start-up subtracted (an empty script under both).
# Immune to the load of a shared machine; it does not see cache misses, so it complements,
# not replaces, bench/sampler-overhead.mjs.
# usage: bench/sampler-instructions.sh <python> [scale=0.05] [workload ...]
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$1"; scale="${2:-0.05}"; shift; shift || true
cd "$here/../../shared/workloads"
names=("$@"); [ ${#names[@]} -eq 0 ] && names=($(ls [a-z]*.py | sed 's/\.py$//'))
ir() { valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
  | grep "I *refs" | tr -d ',' | awk '{print $NF}'; }
samp() { LEAKHOUND_BENCH_AGENT="$here/../agent" PYTHONPATH="$here/sampler-site" "$@"; }
base_plain=$(ir "$py" -c pass)
base_samp=$(samp ir "$py" -c pass)
echo "python $py scale $scale; start-up: plain $base_plain, sampler $base_samp instructions"
for w in "${names[@]}"; do
  a=$(WORK_SCALE=$scale ir "$py" "$w.py")
  b=$(WORK_SCALE=$scale samp ir "$py" "$w.py")
  python3 -c "a,b,s,t=$a,$b,$base_plain,$base_samp; print('%-16s plain %12d  sampler %12d  ratio %.4f' % ('$w', a-s, b-t, (b-t)/(a-s)))"
done
