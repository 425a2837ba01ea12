// leakhound export on real captures: pprof read back by Go's own `go tool pprof`, speedscope
// checked against speedscope's file-format schema, folded stacks for flamegraph.pl.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli, tempDir } from "../helpers/cli.js";

const dir = tempDir("lh-export-");
const capture = path.join(dir, "registry.lhdb");
const children = path.join(dir, "children.lhdb");
const REGISTRY = path.join(ROOT, "test/fixtures/programs/leak_registry.py");

/** Go's pprof reader; `make test` installs Go first (scripts/setup-tools.sh). */
function pprof(...args: string[]): string {
  return execFileSync("go", ["tool", "pprof", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function exportTo(file: string, args: string[]): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = path.join(dir, file);
  const r = await runCli(["export", ...args, "-o", out]);
  return { code: r.code, stderr: r.stderr, out };
}

/** `go tool pprof -raw`: the sample types, and each sample's values with its frames (leaf first). */
function rawSamples(file: string): { types: string[]; samples: { values: number[]; frames: string[]; pid: number }[] } {
  const text = pprof("-raw", file);
  const locs = new Map<string, string>();
  for (const m of text.matchAll(/^\s+(\d+): 0x0 M=1 (.*) s=\d+/gm)) locs.set(m[1], m[2]);
  const [, body] = text.split(/^Samples:\n/m);
  const [head, ...rest] = body.split("\n");
  const samples: { values: number[]; frames: string[]; pid: number }[] = [];
  for (let i = 0; i < rest.length; i++) {
    const m = /^\s*([\d\s]+): ([\d ]+)\s*$/.exec(rest[i]);
    if (!m) continue;
    const pid = Number(/pid:\[(\d+)\]/.exec(rest[i + 1] ?? "")?.[1]);
    samples.push({ values: m[1].trim().split(/\s+/).map(Number), frames: m[2].trim().split(" ").map((id) => locs.get(id) ?? "?"), pid });
  }
  return { types: head.trim().split(/\s+/), samples };
}

beforeAll(async () => {
  const [a, b] = await Promise.all([
    runCli(["run", "--out", capture, "--quiet", "--", "python3", "leak_registry.py"], { env: { LEAK_SECONDS: "4" } }),
    runCli(["run", "--out", children, "--quiet", "--", "python3", "leak_child.py"], { env: { LEAK_SECONDS: "4" } }),
  ]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
});

describe("leakhound export --format pprof", () => {
  it("go tool pprof reads the four sample types, the leak's function, file and line", async () => {
    const r = await exportTo("heap.pb.gz", [capture, "--format", "pprof"]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(r.out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    const { types, samples } = rawSamples(r.out);
    expect(types).toEqual(["inuse_space/bytes[dflt]", "inuse_objects/count", "alloc_space/bytes", "alloc_objects/count"]);
    const leak = samples.find((s) => s.frames[0] === `parse ${REGISTRY}:18`);
    expect(leak, JSON.stringify(samples)).toBeTruthy();
    expect(leak!.frames[1]).toBe(`main ${REGISTRY}:27`);
    const [inuseSpace, inuseObjects, allocSpace, allocObjects] = leak!.values;
    expect(inuseSpace).toBeGreaterThan(1024 * 1024);
    expect(inuseObjects).toBeGreaterThan(0);
    // Allocated is a lower bound that never falls below what is still in use.
    expect(allocSpace).toBeGreaterThanOrEqual(inuseSpace);
    expect(allocObjects).toBeGreaterThanOrEqual(inuseObjects);
  });

  it("the in-use values are the capture's own figures (what leakhound report says of the site)", async () => {
    const r = await exportTo("same.pb.gz", [capture, "--format", "pprof"]);
    const json = path.join(dir, "report.json");
    const rep = await runCli(["report", capture, "--json", json, "--quiet"]);
    expect(rep.code, rep.stderr).toBe(0);
    const rows = JSON.parse(fs.readFileSync(json, "utf8")).sites.filter((x: any) => x.site?.function === "parse" && x.site.line === 18);
    const leaves = rawSamples(r.out).samples.filter((x) => x.frames[0] === `parse ${REGISTRY}:18`);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(rows.length).toBeGreaterThan(0);
    expect(sum(leaves.map((x) => x.values[0]))).toBe(sum(rows.map((x: any) => Math.round(x.liveBytes))));
    expect(sum(leaves.map((x) => x.values[1]))).toBe(sum(rows.map((x: any) => Math.round(x.liveCount))));
  });

  it("-top names the leaking function first, for in-use and allocated space", async () => {
    const r = await exportTo("top.pb.gz", [capture, "--format", "pprof"]);
    for (const index of ["inuse_space", "alloc_space"]) {
      const top = pprof("-top", `-sample_index=${index}`, r.out);
      expect(top).toContain(`Type: ${index}`);
      const rows = top.split("\n").filter((l) => /^\s*[\d.]+[kMG]?B\s/.test(l));
      expect(rows[0]).toMatch(/\sparse$/);
    }
  });

  it("several processes: a pid label on every sample and a root frame per process", async () => {
    const r = await exportTo("children.pb.gz", [children, "--format", "pprof"]);
    expect(r.code, r.stderr).toBe(0);
    const { samples } = rawSamples(r.out);
    const pids = new Set(samples.map((s) => s.pid));
    expect(pids.size).toBeGreaterThan(1);
    for (const s of samples) expect(s.frames[s.frames.length - 1]).toMatch(new RegExp(`^pid ${s.pid}: `));
    const traces = pprof("-traces", "-tagfocus", `pid=${[...pids][1]}`, r.out);
    expect(traces).toContain("pid:");
  });
});

describe("leakhound export --format speedscope", () => {
  it("matches speedscope's file-format schema and weighs the leak by its live bytes", async () => {
    const r = await exportTo("heap.speedscope.json", [capture, "--format", "speedscope"]);
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(fs.readFileSync(r.out, "utf8"));
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/speedscope/dist/release/file-format-schema.json"), "utf8"));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
    const leak = file.shared.frames.findIndex((f: any) => f.name === "parse (leak_registry.py:18)" && f.file === REGISTRY && f.line === 18);
    expect(leak).toBeGreaterThanOrEqual(0);
    const [profile] = file.profiles;
    expect(profile.unit).toBe("bytes");
    const weight = profile.samples.reduce((sum: number, s: number[], i: number) => sum + (s[s.length - 1] === leak ? profile.weights[i] : 0), 0);
    expect(weight).toBeGreaterThan(1024 * 1024);
    expect(profile.endValue).toBe(profile.weights.reduce((a: number, b: number) => a + b, 0));
  });

  it("--value picks the weight; one profile per process", async () => {
    const r = await exportTo("objects.json", [children, "--format", "speedscope", "--value", "inuse_objects"]);
    const file = JSON.parse(fs.readFileSync(r.out, "utf8"));
    expect(file.profiles.length).toBeGreaterThan(1);
    for (const p of file.profiles) {
      expect(p.unit).toBe("none");
      expect(p.name).toMatch(/^pid \d+: .*\(inuse_objects\)$/);
    }
  });
});

describe("leakhound export --format folded", () => {
  it("one 'root;...;leaf value' line per stack, the leak among them", async () => {
    const r = await exportTo("heap.folded", [capture, "--format", "folded"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = fs.readFileSync(r.out, "utf8").trimEnd().split("\n");
    for (const line of lines) expect(line).toMatch(/^[^;\n]+(;[^;\n]+)* \d+$/);
    const leak = lines.find((l) => /;main \(leak_registry\.py:27\);parse \(leak_registry\.py:18\) \d+$/.test(l));
    expect(leak).toBeTruthy();
    expect(Number(leak!.split(" ").pop())).toBeGreaterThan(1024 * 1024);
  });

  it("--pid keeps one process, without a pid root frame", async () => {
    const all = await exportTo("all.folded", [children, "--format", "folded"]);
    const pids = new Set([...fs.readFileSync(all.out, "utf8").matchAll(/^pid (\d+): /gm)].map((m) => m[1]));
    expect(pids.size).toBeGreaterThan(1);
    const pid = [...pids][1];
    const one = await exportTo("one.folded", [children, "--format", "folded", "--pid", pid]);
    expect(one.code, one.stderr).toBe(0);
    const text = fs.readFileSync(one.out, "utf8");
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/^pid \d+: /m);
  });
});

describe("leakhound export: bad input is one line and a documented exit code", () => {
  const oneLine = (stderr: string, pattern: RegExp) => {
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^leakhound: /);
    expect(lines[0]).toMatch(pattern);
  };

  it("a missing or corrupt capture: exit 4", async () => {
    const junk = path.join(dir, "junk.lhdb");
    fs.writeFileSync(junk, "not a capture");
    for (const file of [path.join(dir, "missing.lhdb"), junk]) {
      const r = await exportTo("x.pb.gz", [file, "--format", "pprof"]);
      expect(r.code).toBe(4);
      oneLine(r.stderr, /capture|no such file/);
    }
  });

  it("a wrong format, no format, an unwritable output, an unknown pid: exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [[capture, "--format", "xml", "-o", path.join(dir, "x")], /Allowed choices are pprof, speedscope, folded/],
      [[capture, "-o", path.join(dir, "x")], /--format/],
      [[capture, "--format", "pprof", "-o", path.join(dir, "no-such-dir", "x")], /cannot write --output/],
      [[capture, "--format", "pprof", "-o", dir], /cannot write --output/],
      [[capture, "--format", "folded", "--pid", "1", "-o", path.join(dir, "x")], /no process with pid 1/],
      [[capture, "--format", "pprof", "-o", capture], /it is the capture being read/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(["export", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      oneLine(r.stderr, pattern);
    }
  });
});
