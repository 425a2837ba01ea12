/** A capture file that cannot be read; `message` is one line fit for the user. */
export class CaptureError extends Error {}
