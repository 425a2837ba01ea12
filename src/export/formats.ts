/** The formats `leakhound export` writes. */
export const EXPORT_FORMATS = ["pprof", "speedscope", "folded"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
