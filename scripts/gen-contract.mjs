// Writes agent/leakhound_agent/contract.py from agent/leakhound_agent/contract.json,
// the one host/agent contract. The agent imports the generated module (no json
// import in the target); the host reads the JSON (src/protocol/contract.ts).
// `node scripts/gen-contract.mjs --check` exits 1 when the module is out of date.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const source = path.join(root, "agent", "leakhound_agent", "contract.json");
const target = path.join(root, "agent", "leakhound_agent", "contract.py");

/** A JSON value as a Python literal (lists become tuples: the contract is read-only). */
function py(value) {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `(${value.map(py).join(", ")}${value.length === 1 ? "," : ""})`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${py(v)}`).join(", ")}}`;
}

function render(contract) {
  const lines = [
    '"""The host/agent contract, generated from contract.json by scripts/gen-contract.mjs: do not edit.',
    "",
    "test/unit/contract.test.ts fails when this module, the agent or the host strays from contract.json.",
    '"""',
    "",
    `PROTOCOL_VERSION = ${py(contract.protocolVersion)}`,
    `AGENT_MESSAGES = ${py(contract.messages.agent)}`,
    `HOST_MESSAGES = ${py(contract.messages.host)}`,
    `ENV = ${py(contract.env)}`,
    `COLLECTORS = ${py(contract.collectors)}`,
    `DEFAULTS = ${py(contract.defaults)}`,
    `LIMITS = ${py(contract.limits)}`,
    "",
  ];
  return lines.join("\n");
}

const text = render(JSON.parse(fs.readFileSync(source, "utf8")));
if (process.argv.includes("--check")) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
  if (current !== text) {
    process.stderr.write(`${path.relative(root, target)} is out of date: run node scripts/gen-contract.mjs\n`);
    process.exit(1);
  }
} else if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== text) {
  fs.writeFileSync(target, text);
}
