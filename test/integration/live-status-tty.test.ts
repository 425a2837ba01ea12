// The live status line on a real terminal (a pseudo-terminal made by util-linux
// `script`): the target's output reaches the terminal byte for byte, each line on
// its own line, never glued to the status; the status lives on the reserved last
// row and the scroll region is given back at the end.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CLI, tempDir } from "../helpers/cli.js";

const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
const ROWS = 24;

/** Prints lines to stdout and, in two writes, to stderr, while it leaks, for about 4.5 s. */
const PRINTER = `import sys, time
KEEP = []
for i in range(150):
    KEEP.append(bytearray(100000))
    sys.stdout.write("target line %04d: %s\\n" % (i, "abcdefghij" * 3))
    sys.stdout.flush()
    if i % 7 == 0:
        sys.stderr.write("err part %04d " % i)
        sys.stderr.flush()
        time.sleep(0.01)
        sys.stderr.write("done\\n")
        sys.stderr.flush()
    time.sleep(0.03)
`;

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function runOnTty(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  const cmd = `stty rows ${ROWS} cols 120; ${[process.execPath, CLI, ...args].map(sh).join(" ")}`;
  return new Promise((resolve) => {
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" }, // a plain report, so only the status writes escapes
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

describe.skipIf(!hasScript)("live status line on a terminal", () => {
  it("never glues to or alters the target's output, and resets the terminal at the end", async () => {
    const dir = tempDir("lh-tty-");
    fs.writeFileSync(path.join(dir, "printer.py"), PRINTER);
    const { code, out } = await runOnTty(["run", "--interval", "0.2", "--out", path.join(dir, "c.lhdb"), "--", "python3", "printer.py"], dir);
    expect(code).toBe(0);

    // The status draws: save cursor, go to the last row, clear it, the text, restore cursor.
    const draw = new RegExp(`\\x1b7\\x1b\\[${ROWS};1H\\x1b\\[2K([^\\x1b]*)\\x1b8`, "g");
    const draws = [...out.matchAll(draw)].map((m) => m[1]!);
    expect(draws.length).toBeGreaterThanOrEqual(2); // it did draw while the target wrote
    expect(draws.some((d) => /^leakhound \d+s {2}RSS /.test(d))).toBe(true);

    // The scroll region: reserved once (all rows but the last), reset at the end.
    const regions = [...out.matchAll(/\x1b\[(\d*;?\d*)r/g)].map((m) => m[1]);
    expect(regions[0]).toBe(`1;${ROWS - 1}`);
    expect(regions[regions.length - 1]).toBe("");
    const reset = out.lastIndexOf("\x1b[r");
    expect(out.slice(reset)).toMatch(new RegExp(`^\\x1b\\[r\\x1b\\[${ROWS};1H\\x1b\\[2K\\x1b8`)); // status row cleared
    expect(out.indexOf("leakhound: LEAK")).toBeGreaterThan(reset); // the report comes after

    // Remove only what leakhound wrote for the status; the rest is the target's output as the terminal got it.
    const rest = out
      .replace(/^\r?\n\x1b7\x1b\[\d+;\d+r\x1b8\x1b\[1A/, "") // the start: make room, reserve the row
      .replace(draw, "")
      .replace(/\x1b7\x1b\[\d*;?\d*r\x1b8/g, "") // a resize
      .replace(new RegExp(`\\x1b7\\x1b\\[r\\x1b\\[${ROWS};1H\\x1b\\[2K\\x1b8`), "");
    const lines = rest.split("\r\n");
    for (let i = 0; i < 150; i++) {
      expect(lines).toContain(`target line ${String(i).padStart(4, "0")}: ${"abcdefghij".repeat(3)}`);
      if (i % 7 === 0) expect(lines).toContain(`err part ${String(i).padStart(4, "0")} done`);
    }
    const before = rest.slice(0, rest.indexOf("leakhound: LEAK"));
    expect(before).not.toMatch(/leakhound \d+s/); // no status text left among the target's lines
    expect(before).not.toContain("\x1b"); // and nothing else of leakhound's
  });
});
