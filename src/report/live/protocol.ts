// Messages between the live server and the app over its WebSocket.
import type { PackedReport } from "../html/view-model.js";

export interface LiveReportMessage {
  type: "report";
  /** Increases with every publish. */
  seq: number;
  /** True for the analysis made after the target ended. */
  final: boolean;
  /** Epoch ms when the report was published. */
  at: number;
  data: PackedReport;
}

/** Sent on connect before any report was published. */
export interface LiveWaitingMessage {
  type: "waiting";
  at: number;
}

/** A retainer search asked for from the page ("Explain now"): under way, then done. */
export interface LiveExplainingMessage {
  type: "explaining";
  state: "started" | "done";
  /** With "done": what came of it, in one sentence. */
  note?: string;
}

export type LiveMessage = LiveReportMessage | LiveWaitingMessage | LiveExplainingMessage;

/** The one message the page sends: the "Explain now" button. */
export interface LiveExplainRequest {
  type: "explain";
}

/** The path of the WebSocket endpoint; the token goes in its query string. */
export const LIVE_WS_PATH = "/ws";
