// The host/agent contract is defined once (agent/leakhound_agent/contract.json);
// these tests fail when the host, the agent or the generated module strays from it.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CONTRACT, ENV, PROTOCOL_VERSION, agentDir } from "../../src/protocol/contract.js";
import { AGENT_MESSAGE_TYPES, HOST_MESSAGE_TYPES } from "../../src/protocol/messages.js";
import { ROOT } from "../helpers/cli.js";

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath ?? (e as any).path, e.name));
}

const agentSources = files(path.join(agentDir(), "leakhound_agent"), ".py").concat(path.join(agentDir(), "sitecustomize.py"));
const hostSources = files(path.join(ROOT, "src"), ".ts");

describe("host/agent contract", () => {
  it("the generated Python module is up to date", () => {
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "gen-contract.mjs"), "--check"]);
  });

  it("the host's version, message types and environment names are the contract's", () => {
    expect(PROTOCOL_VERSION).toBe(CONTRACT.protocolVersion);
    expect([...AGENT_MESSAGE_TYPES].sort()).toEqual([...CONTRACT.messages.agent].sort());
    expect([...HOST_MESSAGE_TYPES].sort()).toEqual([...CONTRACT.messages.host].sort());
    expect(ENV).toEqual(CONTRACT.env);
  });

  it("the agent reads the contract: version, host messages, defaults and limits", () => {
    const script = [
      "import json, sys",
      "from leakhound_agent import config, protocol, contract",
      "c = config.Config.from_env({})",
      "bad = config.Config.from_env({contract.ENV['interval']: '1e9', contract.ENV['nframes']: '0', contract.ENV['sampleBytes']: 'x'})",
      "print(json.dumps({'version': protocol.PROTOCOL_VERSION, 'collector': c.collector, 'interval': c.interval,",
      "  'nframes': c.nframes, 'sampleBytes': c.sample_bytes, 'bad': [bad.interval, bad.nframes, bad.sample_bytes],",
      "  'host': [t for t in contract.HOST_MESSAGES if protocol.decode_host_line(json.dumps({'type': t})) is not None],",
      "  'unknown': protocol.decode_host_line(json.dumps({'type': 'bogus'}))}))",
    ].join("\n");
    const out = JSON.parse(execFileSync("python3", ["-c", script], { env: { ...process.env, PYTHONPATH: agentDir() } }).toString());
    const d = CONTRACT.defaults;
    expect(out).toEqual({
      version: CONTRACT.protocolVersion,
      collector: d.collector,
      interval: d.intervalSec,
      nframes: d.nframes,
      sampleBytes: d.sampleBytes,
      bad: [d.intervalSec, d.nframes, d.sampleBytes],
      host: CONTRACT.messages.host,
      unknown: null,
    });
  });

  it("every message type the agent builds is in the contract", () => {
    const protocol = fs.readFileSync(path.join(agentDir(), "leakhound_agent", "protocol.py"), "utf8");
    const built = new Set([...protocol.matchAll(/"type":\s*"([\w-]+)"/g)].map((m) => m[1]));
    expect([...built].sort()).toEqual([...CONTRACT.messages.agent].sort());
  });

  it("no LEAKHOUND_ name is spelled outside the contract, and every contract variable is read by the agent", () => {
    // The host's own switches (debugging, protocol log) are not part of the contract.
    const hostOnly = new Set(["LEAKHOUND_DEBUG", "LEAKHOUND_PROTOCOL_LOG", "LEAKHOUND_GDB", "LEAKHOUND_ATTACH_TIMEOUT"]);
    const spelled: string[] = [];
    for (const file of hostSources) {
      for (const m of fs.readFileSync(file, "utf8").matchAll(/LEAKHOUND_[A-Z_]+/g)) {
        if (!hostOnly.has(m[0])) spelled.push(`${path.relative(ROOT, file)}: ${m[0]}`);
      }
    }
    expect(spelled, "use ENV from src/protocol/messages.ts").toEqual([]);
    const agentText = agentSources.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    for (const [key, name] of Object.entries(CONTRACT.env)) {
      const read = agentText.includes(`ENV["${key}"]`) || agentText.includes(`"${name}"`);
      expect(read, `${name} (${key}) is set by the host but never read by the agent`).toBe(true);
    }
  });

  it("the CLI's defaults are the contract's", async () => {
    const help = execFileSync(process.execPath, [path.join(ROOT, "dist", "cli.js"), "run", "--help"]).toString();
    const d = CONTRACT.defaults;
    expect(help).toContain(`(default: ${d.intervalSec})`);
    expect(help).toContain(`(default: ${d.nframes})`);
    expect(help).toContain(`(default: ${d.sampleBytes})`);
    expect(help).toContain(`(default: ${d.retainerObjects})`);
    expect(help).toContain(`(default: ${d.retainerTimeoutSec})`);
    expect(help).toContain(`default: "${d.collector}")`);
  });
});
