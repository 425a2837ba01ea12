// What `leakhound diff` says about two captures: the JSON it writes (schema
// leakhound/diff@1, src/diff/diff.schema.json) and what the terminal prints.
import type { Frame } from "../protocol/messages.js";
import type { Verdict } from "../report/model.js";

export const DIFF_SCHEMA = "leakhound/diff@1" as const;

export type DiffStatus = "fixed" | "still-leaking" | "new" | "inconclusive";

/** One side of a leak site: the figures of one capture. */
export interface DiffSide {
  pid: number;
  /** The site's frame in this capture (its line may differ between the captures). */
  site: Frame | null;
  /** Retained growth over the analysed window and its rate (0 where the site did not grow). */
  growthBytes: number;
  growthBytesPerSec: number;
  liveBytes: number;
  /** Whether this capture judged the site a leak. */
  leak: boolean;
}

export interface DiffEntry {
  status: DiffStatus;
  kind: "python" | "native";
  /** The source line of the site, stripped, when the capture kept it (what sites are matched by). */
  code: string | null;
  before: DiffSide | null;
  after: DiffSide | null;
  /** One sentence: the evidence for the status. */
  reason: string;
}

export interface DiffCaptureSummary {
  capture: string;
  verdict: Verdict;
  durationSec: number;
}

export interface DiffReport {
  schema: typeof DIFF_SCHEMA;
  tool: { name: "leakhound"; version: string };
  before: DiffCaptureSummary;
  after: DiffCaptureSummary;
  counts: Record<DiffStatus, number>;
  /** Fixed, still leaking, new, inconclusive, in that order; the largest before-rate first within each. */
  entries: DiffEntry[];
}
