// `leakhound attach [options] <pid>`: record → analyse → output, like `run`, for a
// process that was started without leakhound. The host injects the agent, feeds
// the recorder until --duration, Ctrl-C or the process's exit, and detaches; the
// capture, the live explanations and the report are run's (run-command.ts).
import { attachSession, commandLine } from "../host/attach.js";
import type { AttachOptions } from "./commands.js";
import { EXIT, decideExitCode } from "./exit-codes.js";
import { LiveExplainer } from "./live-explainer.js";
import { concludeCapture, explainOne, openCapture, watchSettings } from "./run-command.js";
import { ControlServer } from "../host/control.js";

export async function attachCommand(pid: number, opts: AttachOptions): Promise<number> {
  // The capture's command is the process's own (as `run` records the command it ran).
  const argv = commandLine(pid);
  const { recorder, capturePath } = openCapture(opts, argv.length ? argv : [`pid ${pid}`]);
  const explainer = new LiveExplainer(recorder);
  // `leakhound explain PID` from another terminal reaches this attach too.
  const control = await ControlServer.start((req) => explainOne(recorder, explainer, capturePath, req.pid));
  try {
    await attachSession({ pid, ...watchSettings(opts, recorder, explainer), onHello: (hello) => control?.watch(hello.pid) });
  } catch (err) {
    // An attach that never happened leaves no capture behind.
    recorder.discard();
    throw err;
  } finally {
    explainer.stop();
    control?.close();
  }
  const report = await concludeCapture(recorder, capturePath, opts);
  // The target is not leakhound's child: its exit code is not ours to pass on, so the
  // verdict decides, as for a target leakhound stopped.
  return decideExitCode({
    target: null,
    verdict: report.verdict,
    failOnLeak: Boolean(opts.failOnLeak),
    leakExitCode: opts.leakExitCode ?? EXIT.leakFound,
  });
}
