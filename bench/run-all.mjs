// `make bench`: the quick benchmarks, one after the other, each printing its own
// figures (BENCHMARKS.md has every benchmark's exact command and the numbers
// measured; the longer ones, such as ../shared/workloads/overhead.mjs, run from there).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const benches = [
  ["the host's model of a run", process.execPath, ["--expose-gc", "bench/recorder-model.mjs"]],
  ["live retainer search on 2 million objects", "python3", ["bench/retainers_2m.py", "--collector", "sampling", "--live"]],
  ["live explanations' cost to a leaking program", process.execPath, ["bench/live-explain-cost.mjs", "--runs", "1"]],
];
let failed = 0;
for (const [title, cmd, args] of benches) {
  console.log(`\n== ${title}: ${[path.basename(cmd), ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, PYTHONPATH: path.join(root, "agent") } });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
