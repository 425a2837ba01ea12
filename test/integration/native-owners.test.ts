// Native memory with a Python owner (issue 15): a pipeline keeps every batch in a module-level
// list, and each batch's memory is native (numpy's data, PIL's pixels, libxml2's tree, sqlite's
// page cache, zlib's stream state). leakhound reports a native leak at the batch's line and names
// who owns it and what keeps the owners alive; batches kept in a bounded window (a
// deque(maxlen=8), the control) are no leak. Real libraries from Debian (python3-numpy,
// python3-pil, python3-lxml: scripts/setup-tools.sh) on the system Python and on every pyenv
// CPython where they import; the standard library's kinds on every CPython 3.8+.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROGRAMS, runCli, runLeakhound } from "../helpers/cli.js";
import { protocolErrors, reportErrors } from "../helpers/schema.js";
import { findPythons } from "../helpers/pythons.js";
import { AGENT_DIR } from "../helpers/agent-host.js";
import { limiter } from "../helpers/limit.js";

const FIXTURES = path.resolve(__dirname, "../fixtures/owners");
const PIPELINE = path.join(FIXTURES, "pipeline.py");
const SYSTEM_PYTHON = "/usr/bin/python3";

type Kind = "numpy" | "npview" | "pil" | "lxml" | "sqlite" | "zlib" | "mmap" | "array";
const LIBRARY: Record<Kind, string | null> = {
  numpy: "numpy",
  npview: "numpy",
  pil: "PIL.Image",
  lxml: "lxml.etree",
  sqlite: null,
  zlib: null,
  mmap: null,
  array: null,
};
const ALL: Kind[] = ["numpy", "npview", "pil", "lxml", "sqlite", "zlib", "mmap", "array"];

function imports(python: string, module: string): boolean {
  return spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore", timeout: 30_000 }).status === 0;
}

/** CPython 3.8+ that can run the sampler (the shim samples malloc), with the kinds that import there. */
const PYTHONS = [
  ...findPythons()
    .filter((p) => /^3\.(8|9|1[0-3])\./.test(p.version))
    .map((p) => ({ version: p.version, path: p.path })),
  ...(fs.existsSync(SYSTEM_PYTHON) ? [{ version: "system", path: SYSTEM_PYTHON }] : []),
].map((p) => ({ ...p, kinds: ALL.filter((k) => LIBRARY[k] === null || imports(p.path, LIBRARY[k]!)) }));

// Two CLI runs at a time: the machine is shared, and a starved target samples unevenly.
const limited = limiter(2);

function run(python: string, leak: Kind | "none", windowed: Kind[], env: Record<string, string> = {}) {
  return limited(() =>
    runLeakhound([python, PIPELINE, leak, windowed.join(",")], ["--quiet", "--interval", "0.25"], {
      cwd: FIXTURES,
      env: { LEAK_SECONDS: "4", ...env },
      timeoutMs: 90_000,
    }),
  );
}

const atKind = (kind: Kind) => (l: any) => l.site?.file?.endsWith("pipeline.py") && l.site.function === `${kind}_batch`;

/** The leak's top path: module __main__ → _DEBUG_BATCHES (list, N items) → [*] (…). */
function expectHeldByTheList(leak: any, leaf: RegExp) {
  expect(leak.retainers.length, JSON.stringify(leak)).toBeGreaterThan(0);
  const top = leak.retainers[0];
  const texts = JSON.stringify([leak.retainerNote, ...leak.retainers.map((r: any) => `${r.objects} ${r.text}`)]);
  expect(top.rootKind, texts).toBe("module global");
  expect(top.root, texts).toBe("module __main__");
  expect(top.path[0]).toMatch(/^_DEBUG_BATCHES \(list, [\d,]+ items\)$/);
  expect(top.text).toMatch(leaf);
}

/** The owners by pointer: their type and description, and about as many as the list holds. */
function expectOwners(leak: any, type: string, desc: RegExp) {
  expect(leak.kind).toBe("native");
  expect(leak.owner?.by, JSON.stringify(leak.owner)).toBe("pointer");
  const owner = leak.owner.types[0];
  expect(owner.type).toBe(type);
  expect(owner.desc).toMatch(desc);
  const items = Number(/\(list, ([\d,]+) items\)/.exec(leak.retainers[0].path[0])![1].replace(/,/g, ""));
  expect(Math.abs(owner.objects / items - 1), `${owner.objects} owners for ${items} items`).toBeLessThan(0.15);
  // The native memory they hold is the leak's (the search ran a moment after the last sample).
  expect(Math.abs(owner.bytes / leak.liveBytes - 1), `${owner.bytes} held of ${leak.liveBytes}`).toBeLessThan(0.2);
  expect(leak.retainerNote).toBeUndefined();
}

const CHECKS: Record<Kind, (leaks: any[]) => void> = {
  numpy: (leaks) => {
    const leak = leaks.find(atKind("numpy"));
    expectOwners(leak, "ndarray", /^ndarray 64×256 float64$/);
    expectHeldByTheList(leak, /→ \[\*\] \(ndarray\)$/);
    // A Python leak of the same arrays (their headers) counts Python memory on its paths, as in its
    // own figures: not the data ndarray.__sizeof__ adds, which is the native leak's.
    for (const py of leaks.filter((l) => l.kind === "python" && atKind("numpy")(l)))
      for (const r of py.retainers)
        expect(r.bytes, `${r.text}: ${r.bytes} ±${r.bytesError} on a leak of ${py.liveBytes}`).toBeLessThan(3 * py.liveBytes + 4 * (r.bytesError ?? 0));
  },
  npview: (leaks) => {
    // A small view keeps its whole base array: the owner says whose view it is, the holder why.
    const leak = leaks.find(atKind("npview"));
    expectOwners(leak, "ndarray", /^ndarray 4 float64, a view of a 64×256 float64 array$/);
    expectHeldByTheList(leak, /→ \[\*\] \(ndarray\)$/);
    expect(leak.holder?.id).toBe("numpy-view");
  },
  pil: (leaks) => {
    const leak = leaks.find((l) => l.kind === "native" && l.stack.some((f: any) => f.function === "pil_batch"));
    expectOwners(leak, "ImagingCore", /^ImagingCore RGB 256×128$/);
    expectHeldByTheList(leak, /→ \[\*\] \(Image\) → \.im \(ImagingCore\)$/);
  },
  lxml: (leaks) => {
    // libxml2's nodes lie deeper than pointers are followed: the objects made at the line own them.
    const leak = leaks.find(atKind("lxml"));
    expect(leak.kind).toBe("native");
    expect(leak.owner?.by).toBe("stack");
    expectHeldByTheList(leak, /→ \[\*\] \(_Element\)/);
  },
  sqlite: (leaks) => {
    const native = leaks.filter((l) => l.kind === "native" && atKind("sqlite")(l));
    expect(native.length).toBeGreaterThan(0);
    for (const leak of native) {
      expect(leak.owner?.by, JSON.stringify(leak.retainerNote)).toBe("stack");
      // The connection names its database on the path (read from its sqlite3 handle in C).
      expectHeldByTheList(leak, /→ \[\*\] \(Connection :memory:\)$/);
    }
  },
  zlib: (leaks) => {
    const leak = leaks.find(atKind("zlib"));
    expectOwners(leak, "Compress", /^Compress$/);
    expectHeldByTheList(leak, /→ \[\*\] \(Compress\)$/);
  },
  mmap: (leaks) => {
    // Anonymous maps are sampled by the shim's mmap; the mmap object's data pointer is the map.
    const leak = leaks.find(atKind("mmap"));
    expectOwners(leak, "mmap", /^mmap 256 KiB$/);
    expectHeldByTheList(leak, /→ \[\*\] \(mmap\)$/);
  },
  array: (leaks) => {
    // array.array's buffer comes from Python's allocator: a Python leak with its retainers.
    const leak = leaks.find(atKind("array"));
    expect(leak.kind).toBe("python");
    expectHeldByTheList(leak, /→ \[\*\] \(array\)$/);
  },
};

describe.each(PYTHONS)("native memory with a Python owner on Python $version", ({ path: python, kinds }) => {
  // Each run leaks one kind and keeps two others in a bounded window (the controls).
  const runs = kinds.map((kind, i) => ({
    kind,
    windowed: [kinds[(i + 1) % kinds.length], kinds[(i + 2) % kinds.length]].filter((w) => w !== kind),
  }));
  // One retry: on a loaded machine (the full suite) a search once named another root for 3.8's sqlite.
  it.concurrent.each(runs)(
    "a leak of $kind is found with its owner and root; $windowed in a window are no leak",
    { retry: 1, timeout: 240_000 },
    async ({ kind, windowed }) => {
      const r = await run(python, kind, windowed as Kind[]);
      expect(r.report, r.stderr).toBeTruthy();
      expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
      expect(r.report.verdict, r.report.reason).toBe("leak");
      const leaks = r.report.leaks;
      CHECKS[kind](leaks);
      for (const w of windowed as Kind[]) expect(leaks.filter(atKind(w)), `${w} in a window`).toEqual([]);
      // Every native leak at a stack says who owns it, or that nothing does.
      for (const l of leaks) if (l.kind === "native" && l.stackId >= 0) expect(l.owner ?? l.retainerNote).toBeTruthy();
    },
  );

  it("owners in their own words are read in C, never through the instance (sqlite3, mmap)", async () => {
    const r = spawnSync(python, [path.join(FIXTURES, "words.py")], {
      cwd: FIXTURES,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, PYTHONPATH: AGENT_DIR, PYTHONDONTWRITEBYTECODE: "1" },
    });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.memory).toBe("Connection :memory:");
    expect(out.file).toBe(`Tripwire ${out.path}`);
    expect(out.step).toBe(`Tripwire ${out.path}`);
    expect(out.closed).toBe("Connection closed");
    expect(out.mmap).toBe("Map 12 KiB");
    expect(out.plain_mmap).toBe("mmap 1 MiB");
    expect(out.tripped).toEqual([]);
  }, 60_000);

  if (python === SYSTEM_PYTHON) {
    it("the terminal says who owns the memory; the protocol and the re-read capture agree", async () => {
      const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-proto-")), "protocol.ndjson");
      const r = await run(python, "numpy", [], { LEAKHOUND_PROTOCOL_LOG: log });
      const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const answers = lines.filter((l) => l.type === "retainers").flatMap((l) => l.results);
      expect(answers.some((a) => a.native === true && a.ownedBy === "pointer" && a.owners?.[0]?.type === "ndarray")).toBe(true);
      for (const l of lines) expect(protocolErrors(l), JSON.stringify(l).slice(0, 200)).toBeNull();
      const html = path.join(r.dir, "report.html");
      const again = await runCli(["report", path.join(r.dir, "capture.lhdb"), "--html", html], { cwd: FIXTURES });
      expect(again.code).toBe(0);
      // The page reads the same model: the leak's owner is in its data.
      expect(fs.readFileSync(html, "utf8")).toMatch(/"owner":\{"by":"pointer","types":\[\{"type":"ndarray","desc":"ndarray 64(×|\\u00d7)256 float64"/);
      expect(again.stdout).toMatch(/native leak/);
      expect(again.stdout).toMatch(/whose memory it is:/);
      expect(again.stdout).toMatch(/× ~?[\d,]+ ndarray 64×256 float64( ±[\d,]+)? holding [\d.]+ MiB( ±[\d.]+ [KM]iB)? native memory/);
      expect(again.stdout).toMatch(/module __main__ → _DEBUG_BATCHES \(list, [\d,]+ items\) → \[\*\] \(ndarray\)/);
      expect(again.stdout).not.toMatch(/no retainer paths/);
    }, 120_000);

    it("C memory no Python object points to stays native, with its stack and no owner", async () => {
      // ctypes: malloc'd buffers whose addresses are dropped (leak_native.py).
      const r = await limited(() =>
        runLeakhound([python, path.join(PROGRAMS, "leak_native.py")], ["--quiet", "--interval", "0.25"], {
          env: { LEAK_SECONDS: "4" },
        }),
      );
      const leak = r.report.leaks.find((l: any) => l.kind === "native" && l.site?.function === "render_thumbnail");
      expect(leak, JSON.stringify(r.report.leaks.map((l: any) => l.site))).toBeTruthy();
      expect(leak.owner).toBeUndefined();
      expect(leak.retainers).toEqual([]);
      expect(leak.retainerNote).toBe("native, no Python object owns it");
      expect(leak.stack.length).toBeGreaterThan(1);
    }, 120_000);

    it.concurrent.each([
      ["file", "maps of a file that are read count too: the line and the mmap objects that own them"],
      ["remap", "a map grown with mremap is sampled at its new length: the whole leak is counted"],
      ["unmap", "maps that are unmapped: no leak"],
    ])("memory maps: %s (%s)", async (mode) => {
      const countFile = path.join(os.tmpdir(), `lh-maps-${process.pid}-${mode}-${path.basename(python)}.txt`);
      const r = await limited(() =>
        runLeakhound([python, path.join(FIXTURES, "maps.py"), mode], ["--quiet", "--interval", "0.25"], {
          cwd: FIXTURES,
          env: { LEAK_SECONDS: "4", MAPS_COUNT: countFile },
          timeoutMs: 90_000,
        }),
      );
      expect(r.report, r.stderr).toBeTruthy();
      if (mode === "unmap") {
        expect(r.report.verdict, r.report.reason).toBe("no-leak");
        return;
      }
      expect(r.report.verdict, r.report.reason).toBe("leak");
      const leak = r.report.leaks.find((l: any) => l.kind === "native" && l.site?.file?.endsWith("maps.py"));
      expect(leak, JSON.stringify(r.report.leaks.map((l: any) => [l.kind, l.site]))).toBeTruthy();
      expect(leak.site.function).toBe(mode === "file" ? "file_map" : "grown");
      // 256 KiB per kept map: the sampled bytes account for every map the program kept (it says how
      // many at exit, a few more than at the last sample; the retainer search may not have reached them
      // when the machine is loaded).
      const items = Number(fs.readFileSync(countFile, "utf8"));
      fs.rmSync(countFile, { force: true });
      expect(Math.abs(leak.liveBytes / (items * 256 * 1024) - 1), `${leak.liveBytes} for ${items} maps`).toBeLessThan(0.2);
      if (mode === "file") {
        expectOwners(leak, "mmap", /^mmap 256 KiB$/);
        expect(leak.retainers[0].text).toMatch(/^module __main__ → _KEPT \(list, [\d,]+ items\) → \[\*\] \(mmap\)$/);
      }
    }, 120_000);

    it("every kind in a bounded window: no leak", async () => {
      // A little longer: every window's plateau must show, on a busy machine too.
      const r = await run(python, "none", kinds, { LEAK_SECONDS: "6" });
      expect(r.report, r.stderr).toBeTruthy();
      expect(r.report.verdict, r.report.reason).toBe("no-leak");
    }, 120_000);
  }
});
