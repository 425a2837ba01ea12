// The LD_PRELOAD malloc shim: memory a C library allocates through ctypes and never frees is
// charged to the Python line that called it; the shim is inert in processes that do not load
// the sampler. dlsym is interposed, so malloc looked up in libc's own handle is sampled too.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_DIR } from "../helpers/agent-host.js";
import { findPythons } from "../helpers/pythons.js";

const PYTHONS = findPythons();
const CHECKS = path.resolve(__dirname, "../fixtures/sampler/checks.py");
const PROBE = path.resolve(__dirname, "../fixtures/sampler/dlsym_probe.c");

function buildShim(python: string): string {
  const proc = spawnSync(python, ["-m", "leakhound_agent.native.build", "--shim-only"], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: AGENT_DIR },
  });
  if (proc.status !== 0) throw new Error(proc.stderr);
  return proc.stdout.trim();
}

describe.each(PYTHONS)("malloc shim on Python $version", ({ path: python }) => {
  // malloc looked up in the global scope (CDLL(None)), or in libc's own handle (CDLL("libc.so.6"):
  // dlsym answers libc's malloc there, unless the shim interposes dlsym too).
  for (const library of [null, "libc.so.6"]) {
    it(`charges leaked malloc memory to the Python line that called the C function (CDLL(${library ?? "None"}))`, () => {
      const shim = buildShim(python);
      const proc = spawnSync(python, [CHECKS, "native", String(64 * 1024), ...(library ? [library] : [])], {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, PYTHONPATH: AGENT_DIR, LD_PRELOAD: shim },
      });
      expect(proc.status, proc.stderr).toBe(0);
      const lines = proc.stdout.trim().split("\n");
      const r = JSON.parse(lines[lines.length - 1]);
      expect(r.stats.native).toBe(1);
      const est = r.est[String(r.lines.native_leak)] ?? 0;
      // 40 MB kept (30 MB from the main thread, 10 MB from another); 30 MB more was freed, and seen freed.
      expect(Math.abs(est / r.exact - 1), `estimate ${est} vs ${r.exact}`).toBeLessThan(0.2);
    });
  }

  it("passes every other dlsym through as the caller's own (RTLD_NEXT stays relative to the caller)", () => {
    const shim = buildShim(python);
    const exe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-dlsym-")), "dlsym_probe");
    const cc = spawnSync("cc", ["-O0", "-o", exe, PROBE, "-ldl"], { encoding: "utf8" });
    expect(cc.status, cc.stderr).toBe(0);
    const proc = spawnSync(exe, [], { encoding: "utf8", timeout: 60_000, env: { ...process.env, LD_PRELOAD: shim } });
    expect(proc.status, proc.stderr).toBe(0);
    expect(JSON.parse(proc.stdout)).toEqual({
      handleMallocIsShims: true,
      handleFreeIsShims: true,
      otherNamesUnchanged: true,
      nextIsRelativeToCaller: true,
      missingIsNull: true,
    });
  });

  it("survives threads mallocing without the GIL, Python threads, snapshots and a fork at once", () => {
    const shim = buildShim(python);
    const proc = spawnSync(python, [CHECKS, "native_stress", "2"], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, PYTHONPATH: AGENT_DIR, LD_PRELOAD: shim },
    });
    expect(proc.status, proc.stderr).toBe(0);
    const lines = proc.stdout.trim().split("\n");
    const r = JSON.parse(lines[lines.length - 1]);
    expect(r.child_status).toBe(0);
    // Each ctypes call waits for the GIL the Python thread holds, so a loaded machine gets few rounds.
    expect(r.kept).toBeGreaterThan(2);
    // Kept 1000-byte blocks are sampled with p = 1 - exp(-1000/2048); allow 6 standard deviations.
    const sd = Math.sqrt(r.expected_live_samples);
    expect(Math.abs(r.native_live_samples - r.expected_live_samples)).toBeLessThan(6 * sd + 5);
  });

  it("is inert where the sampler is not loaded", () => {
    const shim = buildShim(python);
    const proc = spawnSync(python, ["-c", "import json; print(json.dumps(list(range(100000)))[:5])"], {
      encoding: "utf8",
      env: { ...process.env, LD_PRELOAD: shim },
    });
    expect(proc.status, proc.stderr).toBe(0);
    expect(proc.stdout.trim()).toBe("[0, 1");
    const ls = spawnSync("ls", ["/"], { encoding: "utf8", env: { ...process.env, LD_PRELOAD: shim } });
    expect(ls.status).toBe(0);
  });
});
