// The one host/agent contract, as the host reads it: protocol version, message
// types, environment variables, defaults and limits. The source is
// agent/leakhound_agent/contract.json (shipped with the agent); the agent imports
// the module generated from it (scripts/gen-contract.mjs). test/unit/contract.test.ts
// fails when either side strays from it.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Contract {
  protocolVersion: number;
  messages: { agent: string[]; host: string[] };
  env: {
    socket: string;
    collector: string;
    interval: string;
    nframes: string;
    sampleBytes: string;
    native: string;
    pytestRepeat: string;
  };
  collectors: string[];
  defaults: {
    collector: string;
    intervalSec: number;
    nframes: number;
    sampleBytes: number;
    retainerObjects: number;
    retainerTimeoutSec: number;
  };
  limits: Record<"intervalSec" | "nframes" | "sampleBytes" | "retainerObjects" | "retainerTimeoutSec" | "pytestRepeat", [number, number]>;
}

/** The agent's folder in the repository: next to src/ and dist/ alike. */
export function agentDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "agent");
}

export const CONTRACT_PATH = path.join(agentDir(), "leakhound_agent", "contract.json");

export const CONTRACT: Readonly<Contract> = Object.freeze(JSON.parse(fs.readFileSync(CONTRACT_PATH, "utf8")) as Contract);

export const PROTOCOL_VERSION = CONTRACT.protocolVersion;

/** Environment variables the host sets for the agent (and the native-sampling switch a user may set). */
export const ENV = CONTRACT.env;
