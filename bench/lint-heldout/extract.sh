#!/bin/bash
# usage: extract.sh GITDIR OUTDIR
# Writes HEAD's *.py (plus pyproject.toml, setup.cfg) of a bare mirror into OUTDIR,
# leaving out vendored and generated code; prints "files lines skipped".
set -euo pipefail
G="$1"; OUT="$2"
mkdir -p "$OUT"
git --git-dir="$G" ls-tree -r --full-tree HEAD | awk -F'\t' '$1 ~ / blob / {print $1"\t"$2}' > "$OUT/.tree"
python3 - "$G" "$OUT" <<'PY'
import os, re, subprocess, sys
g, out = sys.argv[1], sys.argv[2]
skip_dir = re.compile(r'(^|/)(vendor|vendored|_vendor|third_party|thirdparty|3rdparty|external|extern|node_modules|site-packages|\.venv|venv|env|\.tox|build|dist|\.eggs|_build)/', re.I)
gen_name = re.compile(r'(_pb2(_grpc)?\.py|_pb2\.pyi|\.generated\.py|_generated\.py|_rc\.py|_ui\.py)$')
keep, skipped = [], []
for line in open(os.path.join(out, '.tree'), encoding='utf-8', errors='replace'):
    meta, path = line.rstrip('\n').split('\t', 1)
    mode, typ, sha = meta.split()
    if mode == '120000':
        continue  # a symbolic link: its blob is the target's path, not code
    base = path.rsplit('/', 1)[-1]
    if not (path.endswith('.py') or base in ('pyproject.toml', 'setup.cfg')):
        continue
    if skip_dir.search(path) or gen_name.search(base):
        skipped.append(path); continue
    keep.append((sha, path))
p = subprocess.Popen(['git', '--git-dir', g, 'cat-file', '--batch'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
lines = files = 0
for sha, path in keep:
    p.stdin.write((sha + '\n').encode()); p.stdin.flush()
    hdr = p.stdout.readline().split()
    if len(hdr) < 3 or hdr[1] != b'blob':
        continue
    data = p.stdout.read(int(hdr[2])); p.stdout.read(1)
    if path.endswith('.py') and (b'DO NOT EDIT' in data[:2000] or b'auto-generated' in data[:500].lower()):
        skipped.append(path); continue
    dst = os.path.join(out, path)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, 'wb') as f: f.write(data)
    files += 1; lines += data.count(b'\n')
p.stdin.close(); p.wait()
with open(os.path.join(out, '.skipped'), 'w') as f: f.write('\n'.join(skipped) + '\n')
os.remove(os.path.join(out, '.tree'))
print(files, lines, len(skipped))
PY
