#!/bin/bash
# usage: bench/lint-heldout/lint-sample.sh SAMPLES_DIR X
# Lints held-out sample X (SAMPLES_DIR/X, one folder per project) once, before anything in it is read:
# as one tree (X.json) and each project alone (X.per.json), every confidence; records the rules'
# commit (X.rules) and prints each finding. Run from the project root after `make build`.
# A sample of installed packages is a file SAMPLES_DIR/X.paths instead, one path per line (each
# installed distribution is a project of its own already): linted once, as given.
set -euo pipefail
S=$1; X=$2
echo "rules of $(git rev-parse --short HEAD)" > "$S/$X.rules"
if [ -f "$S/$X.paths" ]; then
  mapfile -t paths < "$S/$X.paths"
  node dist/cli.js lint --quiet --confidence low --json "$S/$X.json" "${paths[@]}"
  cp "$S/$X.json" "$S/$X.per.json"
else
  node dist/cli.js lint --quiet --confidence low --json "$S/$X.json" "$S/$X"
  node dist/cli.js lint --quiet --confidence low --json "$S/$X.per.json" "$S/$X"/*/
fi
python3 - "$S" "$X" <<'PY'
import json, sys
S, X = sys.argv[1], sys.argv[2]
for f in [X, X + '.per']:
    d = json.load(open(f'{S}/{f}.json'))
    print(f, 'files', d['files'], 'lines', d['lines'], 'tests', d['testFiles'], 'sec', round(d['durationSec'], 1),
          'findings', len(d['findings']))
    for x in d['findings']:
        print(' ', x['confidence'], x['rule'], x['file'].replace(S + '/', ''), x['line'], x['message'][:200])
PY
