// Figures a user can trust: one vocabulary for every number in every output, a
// short collector line, confidence that means what it says for both verdicts, and
// no string from the target ever acting on the terminal.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { renderTerminal } from "../../src/report/terminal.js";
import { packReport } from "../../src/report/html/view-model.js";
import { collectorSummary, commandLine, escapeText, formatBytes, formatGrowth, formatRate } from "../../src/report/units.js";
import type { Report } from "../../src/report/model.js";
import { unpack } from "../../web/model.js";
import { leakAsText } from "../../web/text-report.js";
import * as webFmt from "../../web/format.js";
import { collectorText } from "../../web/banner.js";
import { leakReport, maliciousReport } from "../fixtures/reports/generate.js";
import { at, shape, synthCapture } from "../helpers/synthetic.js";

const MB = 1e6;

function model(report: Report) {
  return unpack(JSON.parse(JSON.stringify(packReport(report))));
}

describe("one number vocabulary", () => {
  it("binary units, labelled as such, with one rounding", () => {
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MiB");
    expect(formatBytes(1023.99 * 1024)).toBe("1.0 MiB"); // never "1024.0 KiB"
    expect(formatBytes(-65_638)).toBe("-64.1 KiB");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatRate(0)).toBe("+0 B/s");
    expect(formatRate(-2048)).toBe("-2.0 KiB/s");
    expect(formatGrowth(0.2)).toBe("0 B");
    expect(webFmt.bytes(123_456_789)).toBe(formatBytes(123_456_789));
    expect(webFmt.rate(-5e5)).toBe(formatRate(-5e5));
  });

  it("one leak shows the same figures in the headline, its evidence, the terminal, copy-as-text and the HTML app", () => {
    const report = analyze(synthCapture({ sites: [{ frames: [at(20)], bytes: shape.linear(1 * MB, 3.05 * MB) }] }));
    const leak = report.leaks[0]!;
    const rate = formatRate(leak.growthBytesPerSec);
    expect(rate).toBe("+2.9 MiB/s");
    expect(leak.evidence).toContain(rate);
    expect(report.reason).toContain(rate);
    const text = renderTerminal(report, { color: false });
    const head = text.split("\n").find((l) => l.startsWith("#1 "))!;
    expect(head).toContain(`${formatGrowth(leak.growthBytes)} after warm-up (${rate})`);
    expect(text).toContain(`evidence: ${leak.evidence}`);
    // No other spelling of the same rate anywhere (the decimal "+3.0 MB/s" it once had).
    expect(text).not.toMatch(/\bMB\b|\bKB\b/);
    const m = model(report);
    const pasted = leakAsText(m, m.leaks[0]!);
    expect(pasted).toContain(`(${rate})`);
    expect(webFmt.rate(m.leaks[0]!.growthBytesPerSec)).toBe(rate);
  });

  it("the memory line says its trend is after the warm-up", () => {
    const report = analyze(synthCapture({ sites: [{ frames: [at(20)], bytes: shape.linear(1 * MB, 1 * MB) }] }));
    const line = renderTerminal(report, { color: false }).split("\n").find((l) => l.includes("memory"))!;
    expect(line).toMatch(/trend after a 1\.2 s warm-up: RSS \+[\d.]+ [KM]iB\/s, heap \+[\d.]+ [KM]iB\/s/);
  });

  it("live counts are allocations, with a singular for one", () => {
    const report = leakReport();
    report.leaks[0]!.liveCount = 1;
    report.leaks[1]!.liveCount = 248_110;
    const text = renderTerminal(report, { color: false });
    expect(text).toContain("in 1 allocation ");
    expect(text).toContain("in 248,110 allocations");
    expect(text).not.toMatch(/in [\d,]+ objects/);
    const m = model(report);
    expect(leakAsText(m, m.leaks[0]!)).toContain("in 1 allocation\n");
  });

  it("a leak a standard library table holds: the text copy says which and the fix", () => {
    const report = leakReport();
    report.leaks[0]!.holder = { id: "gc-garbage", what: "`gc.garbage` keeps every object", fix: "Switch `gc.DEBUG_SAVEALL` off." };
    const m = model(report);
    const pasted = leakAsText(m, m.leaks[0]!);
    expect(pasted).toContain("Held by:    `gc.garbage` keeps every object\n");
    expect(pasted).toContain("Fix:        Switch `gc.DEBUG_SAVEALL` off.");
  });

  it("a site's growth and rate agree in sign", () => {
    // A site that rose and fell back below its start: its rate must not be positive.
    const report = analyze(
      synthCapture({
        sites: [
          { frames: [at(20)], bytes: (t) => 4 * MB + (t < 6 ? 0.3 * MB * t : 1.8 * MB - 0.5 * MB * (t - 6)) },
          { frames: [at(30)], bytes: shape.noisy(shape.flat(3 * MB), 0.2 * MB, 7) },
          { frames: [at(40)], bytes: shape.linear(1 * MB, 1 * MB) },
        ],
      }),
    );
    expect(report.sites.length).toBe(3);
    for (const row of report.sites) {
      if (row.growthBytes === 0) expect(row.growthBytesPerSec).toBe(0);
      else expect(Math.sign(row.growthBytesPerSec), JSON.stringify(row)).toBe(Math.sign(row.growthBytes));
    }
  });
});

describe("confidence means what it says", () => {
  it("a plainly bounded cache is a confident no-leak", () => {
    const report = analyze(
      synthCapture({ sites: [{ frames: [at(20)], bytes: shape.fillThenFlat(1 * MB, 8 * MB, 3) }, { frames: [at(30)], bytes: shape.flat(2 * MB) }] }),
    );
    expect(report.verdict).toBe("no-leak");
    expect(report.reason).toContain("bounded growth");
    expect(report.confidence).toBeGreaterThanOrEqual(0.8);
  });

  it("a short helper process does not make a decided no-leak unsure", () => {
    const report = analyze(
      synthCapture([
        { pid: 100, ppid: 1, sites: [{ frames: [at(20)], bytes: shape.fillThenFlat(1 * MB, 8 * MB, 3) }] },
        { pid: 101, ppid: 100, seconds: 1.5, sites: [{ frames: [at(5, "helper")], bytes: shape.flat(1 * MB) }] },
      ]),
    );
    expect(report.verdict).toBe("no-leak");
    expect(report.confidence).toBeGreaterThanOrEqual(0.8);
  });

  it("little data after warm-up gives less confidence than a full window", () => {
    const flat = (seconds: number) => analyze(synthCapture({ seconds, sites: [{ frames: [at(20)], bytes: shape.flat(2 * MB) }] }));
    const short = flat(4);
    const full = flat(30);
    expect(short.verdict).toBe("no-leak");
    expect(full.verdict).toBe("no-leak");
    expect(short.confidence).toBeLessThan(full.confidence);
    expect(full.confidence).toBeGreaterThanOrEqual(0.9);
  });
});

describe("the collector line", () => {
  it("is one short line; the full note only with --verbose", () => {
    const report = leakReport();
    report.collector = {
      name: "sampling",
      intervalSec: 0.5,
      nframes: 16,
      sampleBytes: 32768,
      fineBytes: 512,
      nativeSampling: true,
      note: "sampling an allocation every ~32 KiB on average, and every ~512 B at sites whose memory stays alive while the program allocates under ~24.4 MiB/s: a site's live-bytes estimate has a standard error of at most sqrt(B x 32 KiB) (±181.0 KiB at 1 MiB), and about sqrt(B x 512 B) (±22.6 KiB at 1 MiB) for memory that stays alive; malloc-level sampling (LD_PRELOAD shim) on",
    };
    const line = renderTerminal(report, { color: false }).split("\n").find((l) => l.includes("collector"))!;
    expect(line.length).toBeLessThanOrEqual(130);
    expect(line).toContain("sampling, 1 per ~32 KiB allocated (~512 B where memory stays): ±2.2% at 1 MiB; C allocations too; samples every 0.5 s");
    expect(renderTerminal(report, { color: false })).not.toContain("standard error");
    expect(renderTerminal(report, { color: false, verbose: true })).toContain("standard error of at most sqrt(B x 32 KiB)");
    // The HTML app says the same words.
    expect(collectorText(model(report))).toBe(collectorSummary(report.collector));
  });

  it("names an exact collector as exact", () => {
    expect(collectorSummary({ name: "tracemalloc", intervalSec: 0.5, sampleBytes: 0 })).toBe("tracemalloc (exact), samples every 0.5 s");
  });
});

describe("strings from the target never act on the terminal", () => {
  const hostile = "run\x1b[2J\x1b]0;owned\x07\r\nFAKE: leakhound: NO LEAK\u202e\x9b31m";

  it("escapes control characters, C1 controls and bidi overrides", () => {
    expect(escapeText(hostile)).toBe("run\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aFAKE: leakhound: NO LEAK\\u202e\\x9b31m");
    expect(escapeText("héllo → ok")).toBe("héllo → ok");
  });

  it("in every field of the terminal report", () => {
    const report = leakReport();
    const leak = report.leaks[0]!;
    leak.site = { ...leak.site!, function: hostile };
    leak.stack = [leak.site, { file: `/srv/${hostile}.py`, line: 3, function: "f" }];
    leak.evidence = hostile;
    leak.retainers[0]!.text = hostile;
    report.reason = hostile;
    report.notes = [hostile];
    report.target.argv = ["python3", hostile];
    report.collector = { ...report.collector!, name: hostile, note: hostile };
    report.sources = { [leak.site.file]: { start: leak.site.line, lines: [hostile] } };
    for (const verbose of [false, true]) {
      const plain = renderTerminal(report, { color: false, verbose });
      expect(plain).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
      expect(plain.split("\n").some((l) => l.startsWith("FAKE"))).toBe(false);
      expect(plain).toContain("\\x1b[2J");
      // With colour on, the only escape sequences are leakhound's own SGR colours.
      const coloured = renderTerminal(report, { color: true, verbose });
      expect(coloured.replace(/\x1b\[\d+m/g, "")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    }
  });

  it("in the malicious fixture and in copy-as-text", () => {
    const report = maliciousReport();
    report.leaks[0]!.site = { ...report.leaks[0]!.site!, function: hostile };
    report.leaks[0]!.stack = [report.leaks[0]!.site!];
    expect(renderTerminal(report, { color: false })).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const m = model(report);
    const pasted = leakAsText(m, m.leaks[0]!);
    expect(pasted).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(pasted.split("\n").some((l) => l.startsWith("FAKE"))).toBe(false);
  });
});

describe("the target's command on one line", () => {
  it("shows an inline program by its first line, quotes what a shell would split, and stays short", () => {
    expect(commandLine(["python3", "app.py", "--port", "8000"])).toBe("python3 app.py --port 8000");
    expect(commandLine(["python3", "-c", "\nimport time\nwhile True: time.sleep(1)\n"])).toBe("python3 -c 'import time …'");
    expect(commandLine(["python3", "run.py", "a b", "it's", ""])).toBe("python3 run.py 'a b' 'it'\\''s' ''");
    const long = commandLine(["python3", "x".repeat(500)]);
    expect(long.length).toBe(160);
    expect(long.endsWith("…")).toBe(true);
    expect(commandLine(["python3", "x".repeat(500)], 80).length).toBe(80);
    // Not escaped here: the terminal escapes what the target wrote.
    expect(escapeText(commandLine(["python3", "\u001b[31mred"]))).toBe("python3 \\x1b[31mred");
  });
});

describe("a run where no Python process was observed", () => {
  it("prints no duration or memory figures it never measured", () => {
    const report = analyze(synthCapture({ sites: [{ frames: [at(20)], bytes: shape.linear(1 * MB, 1 * MB) }] }));
    const none: Report = { ...report, processes: [], target: { ...report.target, pid: null, python: null } };
    const text = renderTerminal(none, { color: false });
    expect(text).toMatch(/\n {2}memory {5}not measured: no Python process was observed\n/);
    expect(text).not.toMatch(/RSS 0 B/);
    expect(text).toMatch(/\n {2}target {5}python3 \S+ {2}\(exit 0\)\n/);
  });
});

describe("a cause's fix from lint (run --lint)", () => {
  it("is printed under the cause once, whichever of its sites the finding explains", () => {
    const report = analyze(
      synthCapture({ sites: [{ frames: [at(20)], bytes: shape.linear(1 * MB, 3 * MB) }, { frames: [at(30)], bytes: shape.linear(1 * MB, 2 * MB) }] }),
    );
    expect(report.leaks).toHaveLength(2);
    const finding = { rule: "logger-per-value", file: "app.py", line: 5, column: 11, message: "`handle()` names a logger per id.", fix: "Use one logger per module.", via: "site" as const };
    const cause = { id: "C1", rank: 1, label: "module logging → Logger.manager keeps Logger objects", explained: true, root: "module logging", path: ["Logger.manager"], leaks: [1, 2], sites: 2, growthBytes: 1, growthBytesPerSec: 1, liveBytes: 1, confidence: 0.8 };
    const linked: Report = {
      ...report,
      causes: [cause],
      leaks: report.leaks.map((l) => ({ ...l, cause: "C1", causes: [finding] })),
    };
    const text = renderTerminal(linked, { color: false });
    const block = text.slice(text.indexOf("1 leak by cause:"), text.indexOf("#1 python leak"));
    expect(block).toContain("      fix: Use one logger per module. (logger-per-value, app.py:5)\n");
    expect(block.match(/fix:/g)).toHaveLength(1);
  });
});

