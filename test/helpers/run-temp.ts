// One temporary folder per test run, removed when the run ends: every test's `os.tmpdir()` (and the
// TMPDIR of the Python processes it starts) is inside it, so a run leaves nothing behind in /tmp, also
// when a test fails before its own clean-up. Set before vitest starts its workers, which inherit it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-run-"));
  fs.chmodSync(dir, 0o755); // as /tmp is to the other users some tests run targets as
  process.env.TMPDIR = dir;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
