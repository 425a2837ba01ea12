// Never harm the target: the same output, exit code, signals and timing
// behaviour as without leakhound, and it runs on when leakhound dies.
import { describe, expect, it } from "vitest";
import { spawnSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CLI, PROGRAMS, childRunning, runCli, runLeakhound, signalOnceStarted, tempDir } from "../helpers/cli.js";

const bare = (args: string[], env: Record<string, string> = {}, input = "") =>
  spawnSync("python3", args, { cwd: PROGRAMS, input, encoding: "utf8", env: { ...process.env, ...env } });

describe("the target behaves as without leakhound", () => {
  it("stdout, stdin, argv, env, cwd, threads, asyncio, signals, fork, gc and tracemalloc use", async () => {
    const env = { BEHAVIOUR_MARK: "m1" };
    const plain = bare(["behaviour.py", "x", "--flag"], env, "some input text\n");
    expect(plain.status).toBe(0);
    const r = await runLeakhound(["python3", "behaviour.py", "x", "--flag"], ["--quiet"], { env, input: "some input text\n" });
    expect(r.stdout).toBe(plain.stdout);
    expect(r.code).toBe(0);
    expect(r.report.processes.length).toBeGreaterThanOrEqual(1);
  });

  it("passes the target's exit code through", async () => {
    const r = await runLeakhound(["python3", "behaviour.py"], ["--quiet"], { env: { BEHAVIOUR_EXIT: "5" } });
    expect(r.code).toBe(5);
    expect(r.report.target.exitCode).toBe(5);
  });

  it("--duration stops the target with SIGINT and analyses", async () => {
    const r = await runLeakhound(["python3", "forever.py"], ["--quiet", "--duration", "3"]);
    expect(r.stdout).toContain("stopped by SIGINT");
    expect(r.code).toBe(0);
    expect(r.report.verdict).not.toBe("no-leak");
  });

  it("SIGTERM sent to leakhound reaches the target", async () => {
    const r = await runLeakhound(["python3", "forever.py"], ["--quiet"], {
      onSpawn: (child) => signalOnceStarted(child, /forever\.py/, 1000, "SIGTERM"),
    });
    expect(r.code).toBe(143);
    expect(r.report.target.signal).toBe("SIGTERM");
  });

  it("a signal that ends the target before its agent connects passes through too (no 'not Python' error)", async () => {
    // Sent as soon as the interpreter has started: before (or, on a loaded machine, just after)
    // the agent says hello. Either way the target's status is leakhound's, as without it.
    const r = await runLeakhound(["python3", "forever.py"], ["--quiet"], {
      onSpawn: (child) => signalOnceStarted(child, /forever\.py/, 0, "SIGTERM"),
    });
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).not.toMatch(/does not look like Python|agent was not loaded/);
    expect(r.report.target.signal).toBe("SIGTERM");
    if (r.report.processes.length === 0) {
      expect(r.report.verdict).toBe("inconclusive");
      expect(r.report.reason).toMatch(/^the target was ended by SIGTERM before any Python process connected/);
    }
  });

  it("a signal sent to leakhound before its target is spawned (its first child: the shim's build) reaches the target", async () => {
    // Node's default action would end leakhound and leave the target to run on alone.
    const r = await runLeakhound(["python3", "forever.py"], ["--quiet"], {
      onSpawn: (child) => {
        const first = async () => {
          for (let i = 0; i < 2_000; i++) {
            for (const entry of fs.readdirSync("/proc")) {
              if (!/^\d+$/.test(entry)) continue;
              try {
                const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
                if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === child.pid) return;
              } catch {
                /* gone meanwhile */
              }
            }
            await new Promise((r) => setTimeout(r, 5));
          }
        };
        void first().then(() => child.kill("SIGTERM"));
      },
    });
    expect(r.code, r.stderr).toBe(143);
    expect(r.report.target.signal).toBe("SIGTERM");
  });

  it("--fail-on-leak turns a leak verdict into exit 3", async () => {
    const r = await runLeakhound(["python3", "leak_registry.py"], ["--quiet", "--fail-on-leak"], { env: { LEAK_SECONDS: "4" } });
    expect(r.report.verdict).toBe("leak");
    expect(r.code).toBe(3);
  });

  it("the target runs on when leakhound is killed", async () => {
    const dir = tempDir();
    const marker = path.join(dir, "finished");
    const script = path.join(dir, "survivor.py");
    fs.writeFileSync(
      script,
      `import time, sys\nKEEP = []\nfor i in range(300):\n    KEEP.append('x' * 1000)\n    time.sleep(0.01)\nopen(${JSON.stringify(marker)}, 'w').write('done')\n`,
    );
    const child = spawn(process.execPath, [CLI, "run", "--quiet", "--out", path.join(dir, "c.lhdb"), "--", "python3", script], {
      stdio: "ignore",
    });
    // Killed once its target runs (a fixed delay killed it before it started on a loaded machine).
    await childRunning(child.pid!, /survivor\.py/);
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGKILL");
    const until = Date.now() + 60_000;
    while (!fs.existsSync(marker) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(fs.readFileSync(marker, "utf8")).toBe("done");
  });

  it("prints the report on stderr, keeping stdout the target's", async () => {
    const r = await runCli(["run", "--", "python3", "-c", "print('only this')"]);
    expect(r.stdout).toBe("only this\n");
    expect(r.stderr).toMatch(/leakhound/);
    expect(r.code).toBe(0);
  });
});
