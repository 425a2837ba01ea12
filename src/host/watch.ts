// What `leakhound run` and `leakhound attach` share on the host: the private
// socket folder, the agent server that feeds the recorder, the live status row,
// and the end of a capture's metadata. session.ts starts a target with the agent
// injected through the environment; attach.ts injects it into a running process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AgentServer } from "./agent-server.js";
import { LiveStatus } from "./live-status.js";
import type { CaptureSink } from "../capture/recorder.js";
import type { StoppedBy } from "../capture/model.js";
import type { HelloMessage, SampleMessage } from "../protocol/messages.js";

export interface WatchOptions {
  /** Where every agent message goes (the run's recorder); the caller closes it. */
  sink: CaptureSink;
  /** At a process's orderly exit (or detach): the stacks whose retainers it should search for. */
  retainerTargets(pid: number): number[];
  /** Native stacks whose Python owners to ask for (none when absent). */
  nativeRetainerTargets?(pid: number): number[];
  /** Of the stacks asked, those whose leak is memory reused from free lists. */
  freeListTargets?(pid: number, stackIds: number[]): number[];
  collector: string;
  intervalSec: number;
  nframes: number;
  sampleBytes: number;
  durationSec: number | null;
  quiet: boolean;
  maxObjects: number;
  retainerTimeoutSec: number;
  /** Called with every sample (live view). */
  onSample?(pid: number, sample: SampleMessage): void;
  onHello?(hello: HelloMessage): void;
  /** The agent server, once it listens: live explanations ask the running processes through it. */
  onServer?(server: AgentServer): void;
  /** Awaited right before --duration stops the target (a last explanation while it still runs). */
  beforeStop?(): Promise<void>;
}

export interface Watch {
  /** A folder only leakhound (and, for an attach as root, the target's user) can enter. */
  privateDir: string;
  socketPath: string;
  server: AgentServer;
  /** The live status row on a terminal, or null. */
  status: LiveStatus | null;
  /** Stops the status row, closes the server and removes the folder; idempotent. */
  close(): void;
}

/** Listens on a fresh private socket, with every agent message going to opts.sink. */
export async function openWatch(opts: WatchOptions): Promise<Watch> {
  const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "leakhound-"));
  let server: AgentServer | null = null;
  let status: LiveStatus | null = null;
  const close = () => {
    status?.stop();
    server?.close();
    fs.rmSync(privateDir, { recursive: true, force: true });
  };
  try {
    fs.chmodSync(privateDir, 0o700);
    const socketPath = path.join(privateDir, "agent.sock");
    const st = !opts.quiet && LiveStatus.usable(process.stderr) ? new LiveStatus(process.stderr) : null;
    status = st;
    const srv = new AgentServer({
      socketPath,
      writer: opts.sink,
      maxObjects: opts.maxObjects,
      retainerTimeoutSec: opts.retainerTimeoutSec,
      events: {
        onHello: (h) => opts.onHello?.(h),
        onSample: (pid, s) => {
          st?.sample(pid, s);
          opts.onSample?.(pid, s);
        },
        onStacks: (pid, stacks) => st?.stacks(pid, stacks),
        retainerTargets: (pid) => opts.retainerTargets(pid),
        nativeRetainerTargets: (pid) => opts.nativeRetainerTargets?.(pid) ?? [],
        freeListTargets: (pid, ids) => opts.freeListTargets?.(pid, ids) ?? [],
      },
    });
    server = srv;
    await srv.listen();
    opts.onServer?.(srv);
    return { privateDir, socketPath, server: srv, status: st, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** The end of a capture: how the target ended, the notes, and that the capture is complete. */
export function recordEnd(
  writer: CaptureSink,
  server: AgentServer,
  notes: string[],
  end: { exitCode: number | null; signal: string | null; stoppedBy: StoppedBy },
): void {
  for (const e of server.protocolErrors.slice(0, 5)) notes.push(`agent protocol: ${e}`);
  writer.setMeta("exitCode", end.exitCode);
  writer.setMeta("signal", end.signal);
  writer.setMeta("stoppedBy", end.stoppedBy);
  writer.setMeta("notes", notes);
  writer.setMeta("complete", true);
}
