// Messages the live server sends to the app over its WebSocket (server → page only).
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

export type LiveMessage = LiveReportMessage | LiveWaitingMessage;

/** The path of the WebSocket endpoint; the token goes in its query string. */
export const LIVE_WS_PATH = "/ws";
