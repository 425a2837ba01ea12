// Entry point: pick the data source (inlined data, or the live WebSocket) and start the app.
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app.js";
import { startLive } from "./live.js";
import { readInlineData, unpack } from "./model.js";

async function boot(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  const app = new App(root);
  try {
    const live = document.querySelector<HTMLMetaElement>('meta[name="leakhound-live"]');
    if (live) {
      startLive(app, live.content, document.querySelector('meta[name="leakhound-explain"]') !== null);
      return;
    }
    const el = document.getElementById("leakhound-data");
    if (!el) throw new Error("the report carries no data");
    app.update(unpack(await readInlineData(el)), { mode: "static" });
  } catch (err) {
    app.showError(err instanceof Error ? err.message : String(err));
  }
}

void boot();
