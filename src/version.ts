// The version leakhound reports in captures and reports.
export const VERSION = "0.1.0";
