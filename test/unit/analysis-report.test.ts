// analyze(): the whole report from a capture — verdicts across processes, leak
// ranking and merging, site selection, retainers, notes and the report's shape.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { isUserFrame, pickSite } from "../../src/analysis/frames.js";
import { REPORT_SCHEMA, type Report } from "../../src/report/model.js";
import { reportErrors } from "../helpers/schema.js";
import { at, frame, lib, shape, synthCapture } from "../helpers/synthetic.js";

const MB = 1e6;

function numbersAreFinite(value: unknown, path = "report"): void {
  if (typeof value === "number") expect(Number.isFinite(value), path).toBe(true);
  else if (Array.isArray(value)) value.forEach((v, i) => numbersAreFinite(v, `${path}[${i}]`));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) numbersAreFinite(v, `${path}.${k}`);
}

function valid(report: Report): void {
  expect(reportErrors(JSON.parse(JSON.stringify(report)))).toBeNull();
  numbersAreFinite(report);
}

describe("site selection", () => {
  it("skips stdlib, site-packages, frozen and agent frames for the site, and keeps the whole stack", () => {
    const stack = [
      lib("logging/__init__.py", 1104, "__init__"),
      lib("functools.py", 52, "wrapper"),
      frame("/home/dev/.venv/lib/python3.12/site-packages/requests/models.py", 80, "send"),
      frame("<frozen runpy>", 88, "_run_code"),
      at(13, "run_job"),
      at(25, "main"),
    ];
    expect(pickSite(stack)).toEqual(at(13, "run_job"));
    const r = analyze(synthCapture({ sites: [{ frames: stack, bytes: shape.linear(0, 1 * MB) }] }));
    expect(r.leaks[0].site).toEqual(at(13, "run_job"));
    expect(r.leaks[0].stack).toEqual(stack);
    expect(r.sites[0].site).toEqual(at(13, "run_job"));
  });

  it("falls back to the innermost frame when no frame is the user's", () => {
    const stack = [lib("json/decoder.py", 353, "raw_decode"), lib("json/__init__.py", 346, "loads")];
    expect(pickSite(stack)).toEqual(stack[0]);
    expect(pickSite([])).toBeNull();
  });

  it("knows the usual library locations on Linux, macOS, Windows and in virtualenvs", () => {
    const lib_ = (file: string) => isUserFrame(frame(file, 1));
    expect(lib_("/usr/lib/python3.12/threading.py")).toBe(false);
    expect(lib_("/usr/local/lib/python3.13t/json/encoder.py")).toBe(false);
    expect(lib_("/Users/a/.pyenv/versions/3.11.4/lib/python3.11/functools.py")).toBe(false);
    expect(lib_("C:\\Python312\\Lib\\logging\\__init__.py")).toBe(false);
    expect(lib_("/usr/lib/python3/dist-packages/yaml/composer.py")).toBe(false);
    expect(lib_("/opt/leakhound/agent/leakhound_agent/agent.py")).toBe(false);
    expect(lib_("<string>")).toBe(false);
    expect(lib_("/srv/app/lib/models.py")).toBe(true);
    expect(lib_("C:\\work\\app\\main.py")).toBe(true);
  });
});

describe("code being loaded", () => {
  it("growth while modules are imported (an importlib frame in the stack) is not a leak; the same growth elsewhere is", () => {
    const importing = [
      lib("json/decoder.py", 353, "raw_decode"),
      frame("/srv/app/plugins/plugin_7.py", 2, "<module>"),
      frame("<frozen importlib._bootstrap>", 241, "_call_with_frames_removed"),
      frame("<frozen importlib._bootstrap_external>", 940, "_LoaderBasics.exec_module"),
      at(13, "load_plugins"),
    ];
    const loading = analyze(synthCapture({ sites: [{ frames: importing, bytes: shape.linear(0, 1 * MB) }] }));
    expect(loading.verdict, loading.reason).toBe("no-leak");
    expect(loading.leaks).toHaveLength(0);
    // The agent's one stack for the import-time allocations it does not report one by one.
    const summed = [frame("<frozen importlib._bootstrap>", 0, "(modules being imported)")];
    expect(analyze(synthCapture({ sites: [{ frames: summed, bytes: shape.linear(0, 1 * MB) }] })).verdict).toBe("no-leak");
    const working = importing.filter((f) => !f.file.startsWith("<frozen importlib"));
    expect(analyze(synthCapture({ sites: [{ frames: working, bytes: shape.linear(0, 1 * MB) }] })).verdict).toBe("leak");
  });
});

describe("leaks", () => {
  it("are ranked by growth, largest first, with ranks from 1", () => {
    const r = analyze(
      synthCapture({
        sites: [
          { frames: [at(10)], bytes: shape.linear(0, 200e3) },
          { frames: [at(11)], bytes: shape.linear(0, 2 * MB) },
          { frames: [at(12)], bytes: shape.linear(0, 700e3) },
        ],
      }),
    );
    expect(r.leaks.map((l) => [l.rank, l.site?.line])).toEqual([
      [1, 11],
      [2, 12],
      [3, 10],
    ]);
  });

  it("stacks sharing the user's line are one leak: summed, the largest stack stands for them", () => {
    const big = [lib("logging/__init__.py", 1104, "__init__"), at(13, "run_job"), at(25, "main")];
    const small = [lib("logging/__init__.py", 230, "_addHandlerRef"), at(13, "run_job"), at(25, "main")];
    const r = analyze(
      synthCapture({
        sites: [
          { frames: small, bytes: shape.linear(0, 300e3), stackId: 7 },
          { frames: big, bytes: shape.linear(0, 1 * MB), stackId: 8 },
          { frames: [at(14, "run_job")], bytes: shape.linear(0, 100e3), stackId: 9 },
        ],
      }),
    );
    expect(r.leaks).toHaveLength(2);
    const merged = r.leaks[0];
    expect(merged.site).toEqual(at(13, "run_job"));
    expect(merged.stack).toEqual(big);
    expect(merged.stackId).toBe(8);
    expect(merged.growthBytesPerSec).toBeCloseTo(1.3 * MB, -4);
    expect(merged.liveBytes).toBeCloseTo(1.3 * MB * 12, -3);
    expect(merged.evidence).toMatch(/\(2 allocation stacks at this line\)$/);
    expect(merged.series.at(-1)![1]).toBeCloseTo(1.3 * MB * 12, -3);
    expect(r.leaks[1].site?.line).toBe(14);
    expect(r.sites).toHaveLength(3);
  });

  it("a leak spread over many stacks ending at one line, each too small alone, is found together", () => {
    const callers = Array.from({ length: 10 }, (_, k) => ({
      frames: [at(13, "remember"), at(100 + k, `caller${k}`)],
      bytes: shape.linear(0, 8e3),
    }));
    const r = analyze(synthCapture({ sites: [...callers, { frames: [at(50)], bytes: shape.flat(5 * MB) }] }));
    expect(r.verdict, r.reason).toBe("leak");
    expect(r.leaks).toHaveLength(1);
    expect(r.leaks[0].site).toEqual(at(13, "remember"));
    expect(r.leaks[0].evidence).toMatch(/\(10 allocation stacks at this line, together\)$/);
    expect(r.leaks[0].growthBytesPerSec).toBeCloseTo(80e3, -3);

    const churners = Array.from({ length: 10 }, (_, k) => ({
      frames: [at(13, "handle"), at(100 + k, `caller${k}`)],
      bytes: shape.uniform(0, 1 * MB, k + 1),
    }));
    expect(analyze(synthCapture({ sites: churners })).verdict).toBe("no-leak");
  });

  it("gaps in a stack's series (not reported in some samples) do not hide a leak", () => {
    const r = analyze(synthCapture({ sites: [{ frames: [at(20)], bytes: (t, i) => (i % 5 === 3 ? NaN : 1 * MB * t) }] }));
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0].liveBytes).toBe(11.5 * MB); // the last sample is a gap: the last known value counts
  });

  it("are capped at 10", () => {
    const sites = Array.from({ length: 14 }, (_, k) => ({ frames: [at(100 + k)], bytes: shape.linear(0, (k + 1) * 100e3) }));
    const r = analyze(synthCapture({ sites }));
    expect(r.leaks).toHaveLength(10);
    expect(r.leaks[0].site?.line).toBe(113);
  });

  it("growth spread over untracked small stacks is a leak without a site", () => {
    const r = analyze(synthCapture({ sites: [{ bytes: shape.flat(5 * MB) }], other: shape.linear(2 * MB, 1 * MB) }));
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0].site).toBeNull();
    expect(r.leaks[0].evidence).toMatch(/too small to track one by one/);
    valid(r);
  });
});

describe("retainers", () => {
  it("from an agent that sent no estimates: scaled from the sample to the live objects, marked approximate", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(11)], bytes: shape.linear(0, 1 * MB), count: (t) => Math.round(t * 1000), stackId: 5 }],
        retainers: [
          {
            stackId: 5,
            found: 11_000,
            sampled: 100,
            unreachable: false,
            paths: [
              { rootKind: "module global", root: "module __main__", steps: ["HISTORY (list, 12,000 items)", "[i]", "['body'] (str)"], objects: 75, bytes: 300_000 },
              { rootKind: "thread stack", root: "thread MainThread (main.py:20 main)", steps: [], objects: 25, bytes: 100_000 },
            ],
          },
        ],
      }),
    );
    const leak = r.leaks[0];
    expect(leak.unreachable).toBe(false);
    expect(leak.retainers).toHaveLength(2);
    expect(leak.retainers[0]).toEqual({
      root: "module __main__",
      rootKind: "module global",
      path: ["HISTORY (list, 12,000 items)", "[i]", "['body'] (str)"],
      text: "module __main__ → HISTORY (list, 12,000 items) → [i] → ['body'] (str)",
      objects: 9000,
      bytes: Math.round(0.75 * 12 * MB),
      approximate: true,
      traced: { explained: 100, sampled: 11_000 },
    });
    expect(leak.retainers[1].text).toBe("thread MainThread (main.py:20 main)");
    expect(leak.retainers[1].objects).toBe(3000);
  });

  it("say when objects are unreachable, and why nothing was found", () => {
    const r = analyze(
      synthCapture({
        sites: [
          { frames: [at(11)], bytes: shape.linear(0, 2 * MB), stackId: 5 },
          { frames: [at(12)], bytes: shape.linear(0, 1 * MB), stackId: 6 },
        ],
        retainers: [{ stackId: 5, found: 40, sampled: 40, unreachable: true, note: "the objects are in reference cycles that the collector has not freed", paths: [] }],
      }),
    );
    expect(r.leaks[0].unreachable).toBe(true);
    expect(r.leaks[0].retainerNote).toMatch(/reference cycles/);
    expect(r.leaks[1].retainers).toEqual([]);
    expect(r.leaks[1].retainerNote).toMatch(/not among them/);
    const killed = analyze(synthCapture({ sites: [{ bytes: shape.linear(0, 1 * MB) }], retainers: null, exited: false }));
    expect(killed.leaks[0].retainerNote).toMatch(/did not reach a normal exit/);
  });
});

describe("processes", () => {
  it("a leak only in a child makes the run a leak, naming the child's pid", () => {
    const r = analyze(
      synthCapture([
        { pid: 100, ppid: 1, sites: [{ frames: [at(5, "main")], bytes: shape.flat(3 * MB) }] },
        { pid: 101, ppid: 100, sites: [{ frames: [at(30, "worker")], bytes: shape.linear(0, 1 * MB) }] },
      ]),
    );
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0].pid).toBe(101);
    expect(r.reason).toMatch(/in pid 101/);
    expect(r.processes.map((p) => [p.pid, p.verdict])).toEqual([
      [100, "no-leak"],
      [101, "leak"],
    ]);
    expect(r.target.pid).toBe(100);
    valid(r);
  });

  it("the top process is the one whose parent was not captured, wherever it is listed", () => {
    const r = analyze(
      synthCapture([
        { pid: 201, ppid: 200, sites: [{ bytes: shape.flat(1 * MB) }] },
        { pid: 200, ppid: 1, sites: [{ bytes: shape.flat(9 * MB) }] },
      ]),
    );
    expect(r.target.pid).toBe(200);
    expect(r.memory.heap.end).toBe(r.processes[1].memory.heap.end);
  });

  it("no leak anywhere is no-leak; a too-short child does not make a decided run inconclusive", () => {
    const flat = { sites: [{ bytes: shape.flat(3 * MB) }] };
    expect(analyze(synthCapture([{ pid: 1, ...flat }, { pid: 2, ppid: 1, ...flat }])).verdict).toBe("no-leak");
    const shortChild = analyze(synthCapture([{ pid: 1, ...flat }, { pid: 2, ppid: 1, seconds: 1.5, ...flat }]));
    expect(shortChild.verdict).toBe("no-leak");
    expect(shortChild.processes.find((p) => p.pid === 2)!.verdict).toBe("inconclusive");
    const shortTop = analyze(synthCapture([{ pid: 1, seconds: 1.5, ...flat }, { pid: 2, ppid: 1, ...flat }]));
    expect(shortTop.verdict).toBe("inconclusive");
  });

  it("a target that failed before the run was long enough: says so, and not to run it longer", () => {
    const flat = { sites: [{ bytes: shape.flat(3 * MB) }], seconds: 1 };
    const crashed = analyze(synthCapture(flat, { exitCode: 1 }));
    expect(crashed.verdict).toBe("inconclusive");
    expect(crashed.reason).toMatch(/^the target exited with status 1 after [\d.]+ m?s, before growth could be judged \(\d+ samples?\); see its output/);
    expect(analyze(synthCapture(flat, { exitCode: null, signal: "SIGSEGV" })).reason).toMatch(/^the target was ended by SIGSEGV after/);
    // A short run that ended well, or one leakhound stopped, still asks for a longer run.
    expect(analyze(synthCapture(flat)).reason).toMatch(/^only \d+ samples? over .*run the program for at least/);
    expect(analyze(synthCapture(flat, { exitCode: null, signal: "SIGINT", stoppedBy: "leakhound" })).reason).toMatch(/^only \d+ samples?/);
  });

  it("no process at all is inconclusive and partial", () => {
    const r = analyze(synthCapture([]));
    expect(r.verdict).toBe("inconclusive");
    expect(r.partial).toBe(true);
    expect(r.reason).toMatch(/no Python process connected/);
    expect(r.target.pid).toBeNull();
    expect(r.collector).toBeNull();
    valid(r);
    const c = synthCapture([]);
    c.unsupported.push({ pid: 9, python: "2.7.18", reason: "Python 2 is not supported" });
    expect(analyze(c).reason).toMatch(/pid 9, Python 2\.7\.18: Python 2 is not supported/);
  });

  it("a process that sent no samples is inconclusive", () => {
    const r = analyze(synthCapture({ seconds: 0 }));
    expect(r.verdict).toBe("inconclusive");
    expect(r.processes[0].reason).toMatch(/no samples/);
    valid(r);
  });
});

describe("report", () => {
  const capture = () => {
    const c = synthCapture(
      {
        sites: [
          { frames: [at(11)], bytes: shape.linear(0, 1 * MB) },
          { frames: [at(12)], bytes: shape.flat(20 * MB) },
          { frames: [at(13)], bytes: shape.flat(100e3) },
        ],
      },
      { notes: ["tracemalloc fell back to 1 frame"], exitCode: 3 },
    );
    c.processes[0].logs.push({ level: "info", message: "agent started" }, { level: "warning", message: "the program stopped tracemalloc" });
    c.sources.set("/home/dev/app/main.py", { file: "/home/dev/app/main.py", start: 8, lines: ["a", "b", "c"] });
    return c;
  };

  it("has the schema's shape, tool and capture path, and only finite numbers", () => {
    const r = analyze(capture(), { capturePath: "/tmp/run.lhdb", leakhoundVersion: "9.9.9" });
    expect(r.schema).toBe(REPORT_SCHEMA);
    expect(r.tool).toEqual({ name: "leakhound", version: "9.9.9" });
    expect(r.capture).toBe("/tmp/run.lhdb");
    expect(analyze(capture()).tool.version).toBe("0.1.0-test");
    expect(analyze(capture()).capture).toBeNull();
    valid(r);
  });

  it("lists every stack as a site row, largest live first", () => {
    const r = analyze(capture());
    expect(r.sites.map((s) => s.site?.line)).toEqual([12, 11, 13]);
    expect(r.sites[1].growthBytes).toBeGreaterThan(9 * MB);
  });

  it("carries target, memory, notes, sources and partial", () => {
    const r = analyze(capture());
    expect(r.target).toEqual({ argv: ["python3", "main.py"], pid: 4242, python: "3.12.1", exitCode: 3, signal: null, stoppedBy: null });
    expect(r.collector?.name).toBe("tracemalloc");
    expect(r.durationSec).toBe(12);
    expect(r.memory.heap.start).toBeLessThan(r.memory.heap.end);
    expect(r.memory.heap.ratePerSec).toBeCloseTo(1.0 * MB, -5);
    expect(r.memory.rss.peak).toBe(r.memory.rss.end);
    expect(r.notes).toEqual(["tracemalloc fell back to 1 frame", "the program stopped tracemalloc"]);
    expect(r.sources).toEqual({ "/home/dev/app/main.py": { start: 8, lines: ["a", "b", "c"] } });
    expect(r.partial).toBe(false);
    const p = r.processes[0];
    expect(p.warmupSec).toBeCloseTo(1.2, 5);
    expect(p.series).toHaveLength(24);
    expect(p.series[0]).toEqual([0.5, expect.any(Number), expect.any(Number)]);
    const cut = capture();
    cut.meta.complete = false;
    expect(analyze(cut).partial).toBe(true);
    const killed = capture();
    killed.processes[0].exited = false;
    expect(analyze(killed).partial).toBe(true);
  });

  it("explains a no-leak verdict with the biggest growth it excused", () => {
    const r = analyze(synthCapture({ sites: [{ frames: [at(10, "lookup")], bytes: shape.fillThenFlat(0, 7 * MB, 3) }] }));
    expect(r.verdict).toBe("no-leak");
    expect(r.reason).toMatch(/^no allocation stack kept growing over .* after a 1\.2 s warm-up/);
    expect(r.reason).toMatch(/main\.py:10 \(lookup\): grew by .* then stayed flat/);
    expect(r.confidence).toBeGreaterThan(0.4);
    expect(r.leaks).toEqual([]);
  });

  it("keeps long series short for charts", () => {
    const r = analyze(synthCapture({ seconds: 3600, interval: 0.5, sites: [{ bytes: shape.linear(0, 10e3) }] }));
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0].series.length).toBeLessThanOrEqual(1000);
    expect(r.processes[0].series.length).toBeLessThanOrEqual(1001);
    expect(r.processes[0].warmupSec).toBe(60);
  });
});
