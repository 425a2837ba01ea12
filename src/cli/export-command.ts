// `leakhound export capture.lhdb --format pprof|speedscope|folded -o FILE`: the capture's
// allocation stacks for other tools (src/export).
import fs from "node:fs";
import { VERSION } from "../version.js";
import type { ExportOptions } from "./commands.js";
import { EXIT, UserError } from "./exit-codes.js";
import { loadCapture, refuseOverwrite } from "./load-capture.js";
import { checkOutputPaths } from "./outputs.js";
import { encodePprof } from "../export/pprof.js";
import { foldedStacks } from "../export/folded.js";
import { speedscopeFile } from "../export/speedscope.js";
import { selectProcesses, weightedStacks } from "../export/stacks.js";
import { commandLine } from "../report/units.js";
import { escapeText } from "../report/units.js";

export async function exportCommand(file: string, opts: ExportOptions): Promise<number> {
  refuseOverwrite("--output", opts.output, [file]);
  checkOutputPaths([{ option: "--output", file: opts.output }]);
  const { capture, capturePath } = loadCapture(file);
  const procs = selectProcesses(capture, opts.pid);
  if (procs === null) {
    const pids = capture.processes.map((p) => p.pid).join(", ") || "none";
    throw new UserError(`no process with pid ${opts.pid} in ${capturePath} (its processes: ${pids})`, EXIT.usage);
  }
  const processes = weightedStacks(procs);
  let data: Buffer | string;
  if (opts.format === "pprof") {
    const top = procs[0];
    data = await encodePprof({
      processes,
      createdAt: capture.meta.createdAt,
      durationSec: Math.max(0, ...procs.map((p) => p.samples[p.samples.length - 1]?.t ?? 0)),
      sampleBytes: top?.collector.sampleBytes ?? 0,
      comments: [
        `leakhound ${VERSION} export of ${capturePath}`,
        "inuse_*: live at the end of the capture; alloc_*: a lower bound (sum of the rises of the live figures between samples)",
      ],
    });
  } else if (opts.format === "speedscope") {
    data = `${JSON.stringify(speedscopeFile(processes, opts.value, commandLine(capture.meta.argv) || capturePath, `leakhound@${VERSION}`))}\n`;
  } else {
    data = foldedStacks(processes, opts.value);
  }
  try {
    fs.writeFileSync(opts.output, data);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    throw new UserError(`cannot write --output ${escapeText(opts.output)}: ${msg}`, EXIT.usage);
  }
  const stacks = processes.reduce((n, p) => n + p.stacks.length, 0);
  process.stderr.write(`wrote ${opts.format} (${stacks} stacks, ${processes.length} process${processes.length === 1 ? "" : "es"}) to ${escapeText(opts.output)}\n`);
  return 0;
}
