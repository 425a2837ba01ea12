# usage: python3 bench/lint-heldout/raw-findings.py FILE [LINE] [-m] — one file's findings as the linter's Python side gives them (with the evidence they need, "needs", and why they are weak), and with -m the file's "made" facts
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'agent'))
from leakhound_agent.lint import main as m
src = open(sys.argv[1], 'rb').read()
findings, shrunk, made = m.lint_source(src, sys.argv[1])
line = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else None
for f in findings:
    if line is None or f.get('line') == line:
        print(json.dumps({k: v for k, v in f.items() if k not in ('fix',)})[:3000])
if '-m' in sys.argv:
    print(sorted(made))
