// `leakhound run --live` ends with the target: the report is printed and the exit
// code is the target's, with no terminal and no Ctrl-C. `--live-keep` keeps the
// page up after the report was printed, until Ctrl-C.
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "../helpers/cli.js";
import path from "node:path";

const TARGET = ["python3", "-c", "import time; KEEP = [bytearray(5000) for _ in range(100)]; time.sleep(3); print('bye'); raise SystemExit(5)"];

describe("--live lifecycle", () => {
  it("--live without a terminal: ends with the target, prints the report, exits with its code", async () => {
    const dir = tempDir();
    const started = Date.now();
    const r = await runCli(["run", "--live", "--out", path.join(dir, "c.lhdb"), "--", ...TARGET], { timeoutMs: 45_000 });
    expect(r.code).toBe(5);
    expect(Date.now() - started).toBeLessThan(40_000);
    expect(r.stdout).toBe("bye\n");
    expect(r.stderr).toMatch(/leakhound: live view at http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    expect(r.stderr).toMatch(/target +python3 -c .*exit 5/); // the terminal report
    expect(r.stderr).not.toMatch(/press Ctrl-C/);
  });

  it("--live-keep: the report is printed first, then the page stays up until Ctrl-C; the target's code is kept", async () => {
    const dir = tempDir();
    let stderr = "";
    let reportBeforeWait = false;
    const r = await runCli(["run", "--live-keep", "--out", path.join(dir, "c.lhdb"), "--", ...TARGET], {
      timeoutMs: 60_000,
      onSpawn: (child) => {
        child.stderr!.on("data", (d) => {
          stderr += d;
          if (/press Ctrl-C to close it/.test(stderr)) {
            reportBeforeWait = /target +python3 -c .*exit 5/.test(stderr.slice(0, stderr.indexOf("press Ctrl-C")));
            setTimeout(() => child.kill("SIGINT"), 500);
          }
        });
      },
    });
    expect(r.stderr).toMatch(/live view shows the final report at http:\/\/127\.0\.0\.1:\d+\/\?token=\S+ — press Ctrl-C to close it/);
    expect(reportBeforeWait).toBe(true);
    expect(r.code).toBe(5);
  });
});
