// The LD_PRELOAD malloc shim gives native (C-level) growth the Python stack that
// caused it. It is built once per machine by the agent's own build step (cached);
// when it cannot be built, native growth is still found from RSS, without stacks.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findOnPath } from "./python-command.js";
import { ENV } from "../protocol/contract.js";

export function buildShim(agentDir: string, env: NodeJS.ProcessEnv): { path: string | null; note: string | null } {
  if (process.platform !== "linux") return { path: null, note: null };
  const python = findOnPath("python3", env);
  if (!python) return { path: null, note: "no python3 on PATH to build the malloc shim: native growth is reported without stacks" };
  const res = spawnSync(python, ["-m", "leakhound_agent.native.build", "--shim-only"], {
    env: { ...env, PYTHONPATH: agentDir, [ENV.socket]: "" },
    encoding: "utf8",
    timeout: 120_000,
  });
  const out = (res.stdout ?? "").trim().split("\n").pop() ?? "";
  if (res.status === 0 && out && path.isAbsolute(out) && fs.existsSync(out)) return { path: out, note: null };
  const why = (res.stderr ?? "").trim().split("\n").pop() || res.error?.message || `exit ${res.status}`;
  return { path: null, note: `the malloc shim could not be built (${why}): native growth is reported without stacks` };
}
