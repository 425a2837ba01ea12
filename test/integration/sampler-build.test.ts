// Building the native sampler on first use: the per-interpreter cache, concurrent first uses, and
// the fallback (with the reason in the collector note) when there is no compiler.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_DIR } from "../helpers/agent-host.js";
import { findPythons } from "../helpers/pythons.js";

const PYTHONS = findPythons();
const CHECKS = path.resolve(__dirname, "../fixtures/sampler/checks.py");

function tempCache(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "lh-sampler-cache-"));
}

function run(python: string, args: string[], env: Record<string, string>) {
  return spawnSync(python, args, {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: AGENT_DIR, ...env },
  });
}

function lastJson(stdout: string) {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

describe.each(PYTHONS)("sampler build on Python $version", ({ path: python }) => {
  it("falls back to tracemalloc, saying why, when there is no compiler (LEAKHOUND_CC)", () => {
    const cache = tempCache();
    const env = { LEAKHOUND_CACHE_DIR: cache, LEAKHOUND_CC: "/nonexistent/cc" };
    const proc = run(python, [CHECKS, "create"], env);
    expect(proc.status, proc.stderr).toBe(0);
    expect(proc.stderr).toBe(""); // nothing on the target's stderr
    const r = lastJson(proc.stdout);
    expect(r.name).toBe("tracemalloc");
    expect(r.note).toMatch(/sampling collector.*no C compiler.*LEAKHOUND_CC=\/nonexistent\/cc.*using tracemalloc/);
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("falls back when no compiler is on PATH", () => {
    const cache = tempCache();
    const env = { LEAKHOUND_CACHE_DIR: cache, PATH: "/nonexistent", CC: "" };
    const proc = run(python, [CHECKS, "create"], env);
    expect(proc.status, proc.stderr).toBe(0);
    const r = lastJson(proc.stdout);
    expect(r.name).toBe("tracemalloc");
    expect(r.note).toMatch(/no C compiler found/);
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("builds under the temp dir when the home cache cannot be created", () => {
    const tmp = tempCache();
    // /proc refuses new directories even for root.
    const env = { HOME: "/proc", XDG_CACHE_HOME: "", LEAKHOUND_CACHE_DIR: "", TMPDIR: tmp };
    const proc = run(python, [CHECKS, "create"], env);
    expect(proc.status, proc.stderr).toBe(0);
    expect(lastJson(proc.stdout).name).toBe("sampling");
    expect(fs.readdirSync(tmp).some((f) => f.startsWith("leakhound-cache-"))).toBe(true);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("builds once into its cache; concurrent first uses share one build", async () => {
    const cache = tempCache();
    const env = { ...process.env, PYTHONPATH: AGENT_DIR, LEAKHOUND_CACHE_DIR: cache };
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ code: number | null; out: string }>((resolve) => {
            const child = spawn(python, ["-m", "leakhound_agent.native.build"], { env });
            let out = "";
            child.stdout.on("data", (d) => (out += d));
            child.on("close", (code) => resolve({ code, out }));
          }),
      ),
    );
    for (const r of results) expect(r.code).toBe(0);
    const paths = new Set(results.map((r) => r.out.trim()));
    expect(paths.size).toBe(1);
    const built = [...paths][0];
    expect(built.startsWith(cache)).toBe(true);
    expect(fs.existsSync(built)).toBe(true);
    const dir = path.dirname(built);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".build-"))).toEqual([]);
    // A cached build is used as it is, even with no compiler at all.
    const proc = run(python, [CHECKS, "create"], { LEAKHOUND_CACHE_DIR: cache, LEAKHOUND_CC: "/nonexistent/cc" });
    expect(lastJson(proc.stdout).name).toBe("sampling");
    fs.rmSync(cache, { recursive: true, force: true });
  });
});
