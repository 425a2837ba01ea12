// `leakhound explain PID`: from another terminal, ask the `leakhound run` that
// watches PID for a retainer search now, and print what keeps its leaks alive.
import fs from "node:fs";
import { pidLink, requestExplain } from "../host/control.js";
import type { Report } from "../report/model.js";
import { EXIT, UserError } from "../errors.js";
import type { ExplainOptions } from "./commands.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";

export async function explainCommand(pidText: string, opts: ExplainOptions): Promise<number> {
  const pid = Number(pidText);
  if (!/^\d+$/.test(pidText.trim()) || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new UserError(`not a process id: ${pidText}`, EXIT.usage);
  }
  checkOutputPaths([{ option: "--json", file: opts.json }]);
  if (!fs.existsSync(`/proc/${pid}`)) throw new UserError(`no such process: ${pid}`, EXIT.notFound);
  const notWatched = () =>
    new UserError(
      `process ${pid} is not running under leakhound (start it with 'leakhound run -- …', or attach to it with 'leakhound attach ${pid}')`,
      EXIT.notObservable,
    );
  if (!fs.existsSync(pidLink(pid))) throw notWatched();
  let reply;
  try {
    reply = await requestExplain(pid, opts.timeout * 1000);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED" || code === "ENOENT") throw notWatched();
    throw new UserError((err as Error).message, EXIT.internal);
  }
  if (!reply.ok) throw new UserError(reply.error, EXIT.notObservable);
  const report = reply.report as Report;
  writeOutputs(report, { json: opts.json, quiet: opts.quiet, stream: process.stdout });
  return 0;
}
