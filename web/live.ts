// The live data source: the same app, fed by the local server's WebSocket.
import type { LiveMessage } from "../src/report/live/protocol.js";
import type { App } from "./app.js";
import { unpack } from "./model.js";

export function startLive(app: App, wsPath: string, canExplain = false): void {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const url = `ws://${location.host}${wsPath}?token=${encodeURIComponent(token)}`;
  let final = false;
  let attempts = 0;
  let socket: WebSocket | null = null;
  if (canExplain) {
    app.enableExplain(() => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "explain" }));
    });
  }
  const connect = () => {
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => (attempts = 0));
    ws.addEventListener("message", (ev) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage;
      } catch {
        return;
      }
      if (msg.type === "waiting") app.setLive({ state: "waiting", at: msg.at });
      else if (msg.type === "explaining") app.setExplaining(msg.state === "started", msg.note);
      else if (msg.type === "report") {
        final = msg.final;
        app.update(unpack(msg.data), { mode: "live", state: msg.final ? "final" : "live", at: msg.at, seq: msg.seq });
      }
    });
    ws.addEventListener("close", () => {
      if (final) return;
      app.setLive({ state: "disconnected", at: Date.now() });
      if (attempts++ < 30) setTimeout(connect, Math.min(5000, 500 * attempts));
    });
  };
  app.setLive({ state: "connecting", at: Date.now() });
  connect();
}
