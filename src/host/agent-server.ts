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
import type { ExplainReason, Explanation } from "../capture/model.js";

/** One connected process: how to write to it, and its retainer request in flight. */
interface Peer {
  send(msg: HostMessage): void;
  pending: { id: number; reason: ExplainReason; done(e: Explanation | null): void; timer: NodeJS.Timeout } | null;
  exiting: boolean;
  /** Its shutdown began: no live search from now on (the search at the mark is the last one). */
  shuttingDown?: boolean;
}

export interface AgentEvents {
  /** A process said hello. */
  onHello?(hello: HelloMessage): void;
  onSample?(pid: number, sample: SampleMessage): void;
  onStacks?(pid: number, stacks: { id: number; frames: Frame[] }[]): void;
  /** Stacks the host should ask retainers for when this process exits (fast). */
  retainerTargets(pid: number): number[];
  /** Native stacks whose Python owners the host should ask for then (fast). */
  nativeRetainerTargets?(pid: number): number[];
  /** Of the stacks asked, those whose leak is memory reused from free lists (fast). */
  freeListTargets?(pid: number, stackIds: number[]): number[];
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
  /** Samples received per process. */
  private readonly sampleCounts = new Map<number, number>();
  readonly unsupported: { pid: number; python: string; reason: string }[] = [];
  readonly protocolErrors: string[] = [];
  private peers = new Map<number, Peer>();
  private nextRequestId = 1;

  constructor(private opts: AgentServerOptions) {
    this.server = net.createServer((sock) => this.accept(sock));
  }

  /** How many samples a process has sent. */
  samplesFrom(pid: number): number {
    return this.sampleCounts.get(pid) ?? 0;
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
        if (msg.type === "hello") {
          pid = msg.pid;
          this.peers.set(pid, { send, pending: null, exiting: false });
        }
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
      const peer = this.peers.get(pid);
      if (peer && peer.send === send) {
        this.settle(peer, null);
        this.peers.delete(pid);
      }
    });
  }

  /** Processes connected now (that have not begun their exit). */
  connectedPids(): number[] {
    return [...this.peers].filter(([, p]) => !p.exiting && !p.shuttingDown).map(([pid]) => pid);
  }

  /**
   * `leakhound attach`: asks an attached process's agent to end its watch. It answers like an
   * exit handshake (a last sample, `exiting` "detach", the retainer search asked for in reply)
   * and then closes its connection. False when the process is not connected (or is exiting).
   */
  detach(pid: number): boolean {
    const peer = this.peers.get(pid);
    if (!peer || peer.exiting) return false;
    // Like an exit: no live search is asked for from now on.
    peer.exiting = true;
    peer.send({ type: "detach" });
    return true;
  }

  /** True while the process's connection is open (also while it exits or detaches). */
  isConnected(pid: number): boolean {
    return this.peers.has(pid);
  }

  /** True while a retainer search of this process is under way. */
  busy(pid: number): boolean {
    return Boolean(this.peers.get(pid)?.pending);
  }

  /**
   * Asks a running process for a retainer search of `stackIds` (the program runs on
   * meanwhile). Resolves with the answer as recorded, or null when the process is not
   * connected, already searching, exits first, or does not answer in time.
   */
  explain(
    pid: number,
    stackIds: number[],
    reason: ExplainReason,
    nativeStackIds: number[] = [],
    freeListStackIds: number[] = [],
  ): Promise<Explanation | null> {
    const peer = this.peers.get(pid);
    if (!peer || peer.pending || peer.exiting || stackIds.length + nativeStackIds.length === 0) return Promise.resolve(null);
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(peer, null), (this.opts.retainerTimeoutSec + 15) * 1000);
      timer.unref();
      peer.pending = { id, reason, done: resolve, timer };
      peer.send({
        type: "find-retainers",
        stackIds,
        ...(nativeStackIds.length ? { nativeStackIds } : {}),
        ...(freeListStackIds.length ? { freeListStackIds } : {}),
        maxObjects: this.opts.maxObjects,
        timeoutSec: this.opts.retainerTimeoutSec,
        requestId: id,
      });
    });
  }

  private settle(peer: Peer, e: Explanation | null): void {
    const p = peer.pending;
    if (!p) return;
    peer.pending = null;
    clearTimeout(p.timer);
    p.done(e);
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
        this.sampleCounts.set(pid, (this.sampleCounts.get(pid) ?? 0) + 1);
        writer.sample(pid, msg);
        events.onSample?.(pid, msg);
        break;
      case "log":
        writer.log(pid, msg.level, msg.message);
        break;
      case "exiting": {
        const peer = this.peers.get(pid);
        if (peer) peer.exiting = true;
        writer.processEnded(pid, null, null, true);
        let targets: number[] = [];
        let native: number[] = [];
        let freeList: number[] = [];
        try {
          targets = events.retainerTargets(pid);
          native = events.nativeRetainerTargets?.(pid) ?? [];
          freeList = events.freeListTargets?.(pid, targets) ?? [];
        } catch (err) {
          this.protocolErrors.push(`process ${pid}: analysis at exit failed: ${(err as Error).message}`);
        }
        if (targets.length + native.length === 0) send({ type: "done" });
        else
          send({
            type: "find-retainers",
            stackIds: targets,
            ...(native.length ? { nativeStackIds: native } : {}),
            ...(freeList.length ? { freeListStackIds: freeList } : {}),
            maxObjects: this.opts.maxObjects,
            timeoutSec: this.opts.retainerTimeoutSec,
          });
        break;
      }
      case "test":
        writer.test(pid, msg);
        break;
      case "shutdown": {
        // The program stopped working; its cleanup follows. With `search`, the agent waits: a
        // search now sees the objects the cleanup is about to free (a pool's threads, atexit).
        writer.shutdown(pid, { t: msg.t, what: msg.what });
        const peer = this.peers.get(pid);
        if (peer) peer.shuttingDown = true;
        if (!msg.search) break;
        let targets: number[] = [];
        let native: number[] = [];
        let freeList: number[] = [];
        try {
          targets = peer && !peer.pending ? events.retainerTargets(pid) : [];
          native = peer && !peer.pending ? (events.nativeRetainerTargets?.(pid) ?? []) : [];
          freeList = targets.length ? (events.freeListTargets?.(pid, targets) ?? []) : [];
        } catch (err) {
          this.protocolErrors.push(`process ${pid}: analysis at shutdown failed: ${(err as Error).message}`);
        }
        // A search already under way answers first (the agent waits for it); else one now, or done.
        if (peer?.pending) break;
        if (targets.length + native.length === 0) send({ type: "done" });
        else void this.explain(pid, targets, "shutdown", native, freeList);
        break;
      }
      case "retainers": {
        const peer = this.peers.get(pid);
        const asked = peer?.pending && peer.pending.id === msg.requestId ? peer.pending : null;
        // A live request answered by the exit handshake is the exit search.
        const reason: ExplainReason = msg.live && asked ? asked.reason : "exit";
        const explanation: Explanation = {
          reason,
          t: typeof msg.t === "number" ? msg.t : null,
          at: Date.now(),
          results: msg.results,
          visited: msg.visited,
          elapsedSec: msg.elapsedSec,
          truncated: msg.truncated,
        };
        // A live search cut short by the exit (it answers with nothing) is not worth keeping.
        const cutShort = msg.live && msg.truncated && msg.results.length === 0;
        if (!cutShort) {
          writer.explanation(pid, explanation);
          if (msg.truncated && !msg.live) writer.log(pid, "warning", `retainer search stopped at its budget after ${msg.visited} objects`);
        }
        if (peer && asked) this.settle(peer, cutShort ? null : explanation);
        break;
      }
    }
  }
}
