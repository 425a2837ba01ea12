# usage: bench/lint-heldout/compare.py OLD.json NEW.json — the findings that differ between two lint runs (rule, file, line: confidence before -> after)
import json, sys
def load(p):
    d = json.load(open(p))
    return {(f['rule'], f['file'], f['line']): f['confidence'] for f in d['findings']}
a, b = load(sys.argv[1]), load(sys.argv[2])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print(a.get(k, '-'), '->', b.get(k, '-'), *k)
