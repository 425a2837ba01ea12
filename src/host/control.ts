// The run's control socket: how `leakhound explain PID`, from another terminal,
// reaches the `leakhound run` that watches PID. Each run listens on a Unix socket
// in a folder only its user can enter, and names every Python process it watches
// there (a symlink per pid), so a client finds the run by the pid alone.
//
// One request per connection, one JSON line each way:
//   → {"type":"explain","pid":4242}
//   ← {"ok":true,"report":{…}}  or  {"ok":false,"error":"…"}
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const MAX_REQUEST = 4096;

/** The folder of every run's control socket for this user. */
export function controlDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return path.join(os.tmpdir(), `leakhound-${uid}`);
}

/** Where a client looks for the run that watches `pid`. */
export function pidLink(pid: number): string {
  return path.join(controlDir(), `pid-${pid}`);
}

export interface ExplainRequest {
  type: "explain";
  pid: number;
}

export type ControlReply = { ok: true; report: unknown } | { ok: false; error: string };

export class ControlServer {
  private server: net.Server;
  private links = new Set<string>();
  readonly socketPath: string;

  private constructor(
    socketPath: string,
    private handle: (req: ExplainRequest) => Promise<ControlReply>,
  ) {
    this.socketPath = socketPath;
    this.server = net.createServer((sock) => this.accept(sock));
  }

  /** Listens, or returns null when the folder cannot be made private (the run goes on without it). */
  static async start(handle: (req: ExplainRequest) => Promise<ControlReply>): Promise<ControlServer | null> {
    try {
      const dir = controlDir();
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = fs.lstatSync(dir);
      const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
      if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null;
      const socketPath = path.join(dir, `run-${process.pid}.sock`);
      fs.rmSync(socketPath, { force: true });
      const srv = new ControlServer(socketPath, handle);
      await new Promise<void>((resolve, reject) => {
        srv.server.once("error", reject);
        srv.server.listen(socketPath, () => resolve());
      });
      srv.server.unref();
      return srv;
    } catch {
      return null;
    }
  }

  /** A Python process this run now watches. */
  watch(pid: number): void {
    const link = pidLink(pid);
    try {
      fs.rmSync(link, { force: true });
      fs.symlinkSync(this.socketPath, link);
      this.links.add(link);
    } catch {
      /* another run names it, or the folder is gone: explain cannot reach this one */
    }
  }

  /** A process that ended. */
  unwatch(pid: number): void {
    this.drop(pidLink(pid));
  }

  /** Removes one of our links, unless another run has taken its name since. */
  private drop(link: string): void {
    if (!this.links.delete(link)) return;
    try {
      if (fs.readlinkSync(link) === this.socketPath) fs.rmSync(link, { force: true });
    } catch {
      /* already gone */
    }
  }

  close(): void {
    for (const link of [...this.links]) this.drop(link);
    this.server.close();
    fs.rmSync(this.socketPath, { force: true });
    try {
      fs.rmdirSync(path.dirname(this.socketPath)); // only when no other run uses it
    } catch {
      /* another run's socket is there */
    }
  }

  private accept(sock: net.Socket): void {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("error", () => {});
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) return void sock.destroy();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      let req: unknown;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        req = null;
      }
      buf = "";
      const ok = (r: unknown): r is ExplainRequest =>
        typeof r === "object" && r !== null && (r as ExplainRequest).type === "explain" && Number.isInteger((r as ExplainRequest).pid);
      const reply: Promise<ControlReply> = ok(req) ? this.handle(req) : Promise.resolve({ ok: false, error: "unknown request" });
      reply
        .catch((err: unknown) => ({ ok: false as const, error: (err as Error)?.message ?? String(err) }))
        .then((r) => {
          if (!sock.destroyed) sock.end(JSON.stringify(r) + "\n");
        });
    });
  }
}

/** The client side: asks the run that watches `pid`; rejects with a one-line reason. */
export function requestExplain(pid: number, timeoutMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(pidLink(pid));
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the leakhound run watching process ${pid} did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(JSON.stringify({ type: "explain", pid } satisfies ExplainRequest) + "\n"));
    sock.on("data", (d: string) => (buf += d));
    sock.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        reject(new Error("the leakhound run gave an unreadable answer"));
      }
    });
  });
}
