// The live view: the same app as the HTML report, served from 127.0.0.1 and fed
// over a WebSocket. Bound to loopback on a random port; a random token in the URL
// gates both the page and the socket, and only the page's own origin may connect.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { Report } from "../model.js";
import { contentSecurityPolicy, loadAppAssets, renderShell } from "../html/page.js";
import { packReport } from "../html/view-model.js";
import { LIVE_WS_PATH, type LiveMessage } from "./protocol.js";

const HOST = "127.0.0.1";
/** A client this far behind skips intermediate updates (never the final one). */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface LiveServerOptions {
  /** Port to bind on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Page title, e.g. the target command. */
  title?: string;
  /** Told about every refused request, with the reason (for verbose logging). */
  onRefused?: (reason: string) => void;
  /** The page's "Explain now": resolves with one sentence on what came of it. Absent: no button. */
  onExplain?: () => Promise<string>;
}

export interface LiveServer {
  /** http://127.0.0.1:PORT/?token=… — print it; whoever has it can see the report. */
  url: string;
  port: number;
  /** Pushes a fresh analysis to every open page; `final` marks the analysis after the target ended. */
  publish(report: Report, final: boolean): void;
  close(): Promise<void>;
}

function tokenMatches(expected: Buffer, given: string | null): boolean {
  if (given === null) return false;
  const buf = Buffer.from(given, "utf8");
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

export async function startLiveServer(opts: LiveServerOptions = {}): Promise<LiveServer> {
  loadAppAssets(); // fail now, not on the first page request, when the app is not built
  const token = randomBytes(24).toString("base64url");
  const tokenBuf = Buffer.from(token, "utf8");
  const refused = opts.onRefused ?? (() => {});

  let page = "";
  let csp = "";
  let origin = "";
  let hostHeader = "";
  let seq = 0;
  let last: string | null = null;
  let finalSent = false;

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024, perMessageDeflate: false });
  const broadcast = (msg: LiveMessage) => {
    const text = JSON.stringify(msg);
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(text);
  };
  /** One "Explain now" at a time; every open page sees it start and end. */
  let explaining = false;
  const explain = () => {
    if (explaining || finalSent || !opts.onExplain) return;
    explaining = true;
    broadcast({ type: "explaining", state: "started" });
    opts.onExplain().then(
      (note) => {
        explaining = false;
        broadcast({ type: "explaining", state: "done", note });
      },
      (err: unknown) => {
        explaining = false;
        broadcast({ type: "explaining", state: "done", note: `the search failed: ${(err as Error)?.message ?? String(err)}` });
      },
    );
  };

  /** Common checks for the page and the socket; returns a reason to refuse, or null. */
  function check(req: IncomingMessage, url: URL): string | null {
    if (req.headers.host !== hostHeader) return `wrong Host header ${JSON.stringify(req.headers.host ?? "")}`;
    if (!tokenMatches(tokenBuf, url.searchParams.get("token"))) return "missing or wrong token";
    return null;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", origin);
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        ...headers,
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n", { Allow: "GET, HEAD" });
    if (url.pathname !== "/" && url.pathname !== "/index.html") return send(404, "not found\n");
    const why = check(req, url);
    if (why) {
      refused(`page request refused: ${why}`);
      return send(403, "forbidden: open the exact URL leakhound printed (it carries the access token)\n");
    }
    send(200, page, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": csp,
      "X-Frame-Options": "DENY",
    });
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", origin);
    const refuse = (status: number, why: string) => {
      refused(`WebSocket refused: ${why}`);
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== LIVE_WS_PATH) return refuse(404, `unknown path ${url.pathname}`);
    const why = check(req, url);
    if (why) return refuse(403, why);
    if (req.headers.origin !== origin) return refuse(403, `foreign Origin ${JSON.stringify(req.headers.origin ?? "")}`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => ws.terminate());
      ws.on("message", (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return;
        }
        if ((msg as { type?: unknown })?.type === "explain") explain();
      });
      const hello: LiveMessage = { type: "waiting", at: Date.now() };
      ws.send(last ?? JSON.stringify(hello));
      if (explaining) ws.send(JSON.stringify({ type: "explaining", state: "started" } satisfies LiveMessage));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("live server: no TCP address");
  const port = address.port;
  hostHeader = `${HOST}:${port}`;
  origin = `http://${hostHeader}`;
  const wsOrigin = `ws://${hostHeader}`;
  page = renderShell({ title: opts.title ?? "leakhound · live", live: { wsPath: LIVE_WS_PATH, wsOrigin, explain: Boolean(opts.onExplain) } });
  csp = contentSecurityPolicy(loadAppAssets().js, { wsOrigin });

  return {
    url: `${origin}/?token=${token}`,
    port,
    publish(report: Report, final: boolean): void {
      if (finalSent) return; // the final analysis stays what the page shows
      const msg: LiveMessage = { type: "report", seq: ++seq, final, at: Date.now(), data: packReport(report) };
      last = JSON.stringify(msg);
      finalSent = final;
      for (const client of wss.clients) {
        if (client.readyState !== WebSocket.OPEN) continue;
        if (!final && client.bufferedAmount > MAX_BUFFERED_BYTES) continue;
        client.send(last);
      }
    },
    async close(): Promise<void> {
      // A clean close after what was already queued (the final report reaches every
      // open page), then anything still open after a second is cut.
      const open = [...wss.clients];
      await Promise.race([
        Promise.all(
          open.map(
            (client) =>
              new Promise<void>((resolve) => {
                if (client.readyState === WebSocket.CLOSED) return resolve();
                client.once("close", () => resolve());
                client.close(1001, "leakhound finished");
              }),
          ),
        ),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
