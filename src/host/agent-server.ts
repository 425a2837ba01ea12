// The host's end of the agent protocol: a Unix socket in a private folder,
// one connection per Python process (children and forks connect on their own).
// Messages go straight into the capture; the exit handshake asks the analysis
// which stacks leak and sends them back to the agent for the retainer walk.
import fs from "node:fs";
import net from "node:net";
import type {
  AgentMessage,
  Frame,
  HelloMessage,
  HostMessage,
  SampleMessage,
} from "../protocol/messages.js";
import { isAgentMessage } from "../protocol/messages.js";
import { SourceNames } from "./qualnames.js";
import type { CaptureSink } from "../capture/recorder.js";

export interface AgentEvents {
  /** A process said hello. */
  onHello?(hello: HelloMessage): void;
  onSample?(pid: number, sample: SampleMessage): void;
  onStacks?(pid: number, stacks: { id: number; frames: Frame[] }[]): void;
  /** Stacks the host should ask retainers for when this process exits (fast). */
  retainerTargets(pid: number): number[];
}

export interface AgentServerOptions {
  socketPath: string;
  /** Every message goes here (the run's recorder). */
  writer: CaptureSink;
  events: AgentEvents;
  /** Objects per leak to find paths for. */
  maxObjects: number;
  /** Budget the agent gets for its retainer walk. */
  retainerTimeoutSec: number;
}

/** Tests set this to a file path to keep every line the agents sent (checked against the protocol schema). */
const PROTOCOL_LOG = process.env.LEAKHOUND_PROTOCOL_LOG;

/** Longest line accepted from an agent; a longer one means a broken peer. */
const MAX_LINE = 64 * 1024 * 1024;

export class AgentServer {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  private names = new SourceNames();
  readonly helloPids: number[] = [];
  readonly unsupported: { pid: number; python: string; reason: string }[] = [];
  readonly protocolErrors: string[] = [];

  constructor(private opts: AgentServerOptions) {
    this.server = net.createServer((sock) => this.accept(sock));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  /** Resolves when every connection has closed (or the deadline passes). */
  async drain(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.sockets.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private accept(sock: net.Socket): void {
    this.sockets.add(sock);
    let pid = 0;
    let buf = "";
    sock.setEncoding("utf8");
    const send = (msg: HostMessage) => {
      if (!sock.destroyed) sock.write(JSON.stringify(msg) + "\n");
    };
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) {
        this.protocolErrors.push(`process ${pid}: message too long, connection dropped`);
        sock.destroy();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        if (PROTOCOL_LOG) fs.appendFileSync(PROTOCOL_LOG, line + "\n");
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          this.protocolErrors.push(`process ${pid}: unreadable message`);
          continue;
        }
        if (!isAgentMessage(msg)) {
          this.protocolErrors.push(`process ${pid}: unknown message`);
          continue;
        }
        if (msg.type === "hello") pid = msg.pid;
        try {
          this.handle(pid, msg, send);
        } catch (err) {
          this.protocolErrors.push(`process ${pid}: ${(err as Error).message}`);
        }
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.sockets.delete(sock);
    });
  }

  private handle(pid: number, msg: AgentMessage, send: (m: HostMessage) => void): void {
    const { writer, events } = this.opts;
    switch (msg.type) {
      case "hello":
        this.helloPids.push(msg.pid);
        writer.hello(msg);
        events.onHello?.(msg);
        break;
      case "unsupported":
        this.unsupported.push({ pid: msg.pid, python: msg.python, reason: msg.reason });
        writer.unsupported(msg.pid, msg.python, msg.reason);
        break;
      case "stacks": {
        const stacks = msg.stacks.map((st) => ({ id: st.id, frames: this.names.frames(st.frames) }));
        writer.stacks(pid, stacks);
        events.onStacks?.(pid, stacks);
        break;
      }
      case "sample":
        writer.sample(pid, msg);
        events.onSample?.(pid, msg);
        break;
      case "log":
        writer.log(pid, msg.level, msg.message);
        break;
      case "exiting": {
        writer.processEnded(pid, null, null, true);
        let targets: number[] = [];
        try {
          targets = events.retainerTargets(pid);
        } catch (err) {
          this.protocolErrors.push(`process ${pid}: analysis at exit failed: ${(err as Error).message}`);
        }
        if (targets.length === 0) send({ type: "done" });
        else
          send({
            type: "find-retainers",
            stackIds: targets,
            maxObjects: this.opts.maxObjects,
            timeoutSec: this.opts.retainerTimeoutSec,
          });
        break;
      }
      case "retainers":
        writer.retainers(pid, msg.results);
        if (msg.truncated) writer.log(pid, "warning", `retainer search stopped at its budget after ${msg.visited} objects`);
        break;
    }
  }
}
