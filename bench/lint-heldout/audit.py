# usage: python3 bench/lint-heldout/audit.py SAMPLE_DIR... — recall: module- and class-level containers grown in a function, with no trim in their project (sites to read by hand)
import ast, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'agent'))
from leakhound_agent.lint.facts import ModuleFacts
from leakhound_agent.lint.rules import common
for root in sys.argv[1:]:
    for proj in sorted(os.listdir(root)):
        pdir = os.path.join(root, proj)
        if not os.path.isdir(pdir): continue
        mods, shrunk = [], set()
        for d, dirs, files in os.walk(pdir):
            if any(p in d for p in ('/test', '/tests', '/docs', '/examples', '/example')): continue
            for f in files:
                if not f.endswith('.py') or f.startswith('test'): continue
                p = os.path.join(d, f)
                try:
                    facts = ModuleFacts(ast.parse(open(p, 'rb').read()), p)
                except Exception:
                    continue
                shrunk |= facts.shrunk_attrs
                mods.append((p, facts))
        for p, facts in mods:
            for c in facts.containers.values():
                if c.key[0] not in 'gc' or common.managed(c) or c.name.split('.')[-1] in shrunk: continue
                grows = [(fn, node) for fn, node, k, v in c.grows if fn is not None and not facts.runs_once(fn)]
                if grows:
                    fn, node = grows[0]
                    print('%s:%d %s %s in %s()' % (os.path.relpath(p), node.lineno, c.kind, c.name, fn.name))
