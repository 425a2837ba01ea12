// A tiny stand-in for the leakhound host: a Unix socket that records what real
// Python agents send, answers the exit handshake, and checks every line
// against the protocol (schema plus ordering rules the schema cannot express).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./cli.js";
import { protocolErrors } from "./schema.js";

export const AGENT_DIR = path.join(ROOT, "agent");

export interface AgentConnection {
  socket: net.Socket;
  /** Every decoded message, in order. */
  messages: any[];
  /** Protocol violations seen on this connection. */
  errors: string[];
  closed: boolean;
  hello(): any | undefined;
  ofType(type: string): any[];
  /** Frames of each stack id this connection defined. */
  stacks: Map<number, { file: string; line: number; function: string }[]>;
}

export interface FakeHostOptions {
  /**
   * Reply to `exiting`: a host message to send, or null to stay silent.
   * Default: {type: "done"}.
   */
  onExiting?: (conn: AgentConnection, exiting: any) => object | null;
  /** Called for every message (after it is recorded); may destroy conn.socket. */
  onMessage?: (conn: AgentConnection, message: any) => void;
}

export class FakeHost {
  readonly dir: string;
  readonly socketPath: string;
  readonly connections: AgentConnection[] = [];
  private server: net.Server;

  private constructor(private opts: FakeHostOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-agent-"));
    this.socketPath = path.join(this.dir, "agent.sock");
    this.server = net.createServer((s) => this.accept(s));
  }

  static async start(opts: FakeHostOptions = {}): Promise<FakeHost> {
    const host = new FakeHost(opts);
    await new Promise<void>((resolve, reject) => {
      host.server.once("error", reject);
      host.server.listen(host.socketPath, () => resolve());
    });
    return host;
  }

  /** Waits until every connection has closed (or the deadline passes). */
  async settle(deadlineMs = 5000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.connections.some((c) => !c.closed) && Date.now() < until) await sleep(20);
  }

  close(): void {
    for (const c of this.connections) c.socket.destroy();
    this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** All protocol errors on all connections. */
  errors(): string[] {
    return this.connections.flatMap((c, i) => c.errors.map((e) => `connection ${i}: ${e}`));
  }

  byPid(pid: number): AgentConnection | undefined {
    return this.connections.find((c) => c.hello()?.pid === pid || c.ofType("unsupported")[0]?.pid === pid);
  }

  private accept(socket: net.Socket): void {
    const conn: AgentConnection = {
      socket,
      messages: [],
      errors: [],
      closed: false,
      stacks: new Map(),
      hello() {
        return this.messages.find((m) => m.type === "hello");
      },
      ofType(type: string) {
        return this.messages.filter((m) => m.type === type);
      },
    };
    this.connections.push(conn);
    const checker = new ProtocolChecker(conn);
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let message: any;
        try {
          message = JSON.parse(line);
        } catch {
          conn.errors.push(`not JSON: ${line.slice(0, 200)}`);
          continue;
        }
        conn.messages.push(message);
        checker.check(message);
        if (message.type === "exiting") {
          const reply = this.opts.onExiting ? this.opts.onExiting(conn, message) : { type: "done" };
          if (reply && !socket.destroyed) socket.write(JSON.stringify(reply) + "\n");
        }
        this.opts.onMessage?.(conn, message);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (buf.length > 0) conn.errors.push(`unterminated line at close: ${buf.slice(0, 200)}`);
      conn.closed = true;
    });
  }
}

/** Ordering rules of the protocol: hello first, ids defined before use, seq increasing, nothing after retainers. */
class ProtocolChecker {
  private seq = 0;
  private t = -1;
  private exiting = false;
  private finished = false;

  constructor(private conn: AgentConnection) {}

  check(m: any): void {
    const err = (s: string) => this.conn.errors.push(`${m?.type}: ${s}`);
    const schema = protocolErrors(m);
    if (schema) err(`schema: ${schema}`);
    const index = this.conn.messages.length - 1;
    if (index === 0 && m.type !== "hello" && m.type !== "unsupported") err("first message must be hello or unsupported");
    if (index > 0 && (m.type === "hello" || m.type === "unsupported")) err("hello/unsupported only first");
    if (this.finished) err("message after retainers");
    switch (m.type) {
      case "stacks":
        for (const s of m.stacks ?? []) {
          if (this.conn.stacks.has(s.id)) err(`stack ${s.id} defined twice`);
          this.conn.stacks.set(s.id, s.frames);
        }
        break;
      case "sample": {
        if (this.exiting) err("sample after exiting");
        if (m.seq !== this.seq + 1) err(`seq ${m.seq} after ${this.seq}`);
        this.seq = m.seq;
        if (m.t < this.t) err(`t went back: ${m.t} < ${this.t}`);
        this.t = m.t;
        for (const [id] of [...(m.sites ?? []), ...(m.active ?? []), ...(m.native ?? [])]) {
          if (!this.conn.stacks.has(id)) err(`stack ${id} used before its definition`);
        }
        for (const k of ["rss", "heap", "overhead", "otherBytes", "otherCount", "cost"]) {
          if (!(m[k] >= 0)) err(`${k} negative: ${m[k]}`);
        }
        for (const [, bytes, count] of m.sites ?? []) if (bytes < 0 || count < 0) err("negative site");
        break;
      }
      case "exiting":
        if (this.exiting) err("exiting twice");
        this.exiting = true;
        break;
      case "retainers":
        if (!this.exiting) err("retainers before exiting");
        this.finished = true;
        break;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pid: number;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Environment without any inherited Python or leakhound settings. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("LEAKHOUND_") || k.startsWith("PYTHON")) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** What the real host sets for a target: agent dir first on PYTHONPATH, then the user's. */
export function agentEnv(host: FakeHost, extra: Record<string, string | undefined> = {}, userPath = ""): Record<string, string> {
  return cleanEnv({
    PYTHONPATH: userPath ? `${AGENT_DIR}${path.delimiter}${userPath}` : AGENT_DIR,
    LEAKHOUND_USER_PYTHONPATH: userPath,
    LEAKHOUND_SOCKET: host.socketPath,
    LEAKHOUND_COLLECTOR: "tracemalloc",
    LEAKHOUND_INTERVAL: "0.1",
    ...extra,
  });
}

export function runPython(python: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(python, args, {
      cwd: opts.cwd,
      env: (opts.env as NodeJS.ProcessEnv) ?? cleanEnv(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid ?? 0, ms: Date.now() - started });
    });
  });
}

/** Writes `files` (name → text) into a fresh temp folder and returns its path. */
export function writeProgram(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-prog-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
