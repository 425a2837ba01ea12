// The bootstrap (agent/sitecustomize.py) on every interpreter on the machine:
// old ones say "unsupported", the user's own sitecustomize still runs, and
// without LEAKHOUND_SOCKET nothing happens at all.
import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { AGENT_DIR, FakeHost, agentEnv, cleanEnv, runPython, writeProgram } from "../helpers/agent-host.js";
import { findAllPythons, findPythons } from "../helpers/pythons.js";

const ALL = findAllPythons();
const OLD = ALL.filter((p) => !findPythons().some((q) => q.path === p.path));
const SUPPORTED = findPythons();

const hosts: FakeHost[] = [];
async function newHost(opts: Parameters<typeof FakeHost.start>[0] = {}): Promise<FakeHost> {
  const host = await FakeHost.start(opts);
  hosts.push(host);
  return host;
}
afterEach(() => {
  while (hosts.length) hosts.pop()!.close();
});

const isSupported = (version: string) => SUPPORTED.some((p) => p.version === version);

describe.each(OLD)("unsupported Python $version", ({ version, path: python }) => {
  it("sends one `unsupported` line and runs the program untouched", async () => {
    const host = await newHost();
    const dir = writeProgram({ "old.py": "import sys\nprint('hello from ' + sys.version.split()[0])\nsys.exit(2)\n" });
    const plain = await runPython(python, ["old.py"], { cwd: dir, env: cleanEnv() });
    const r = await runPython(python, ["old.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe(plain.stderr);
    expect(r.code).toBe(2);
    expect(host.errors()).toEqual([]);
    expect(host.connections.length).toBe(1);
    const [message] = host.connections[0].messages;
    expect(host.connections[0].messages.length).toBe(1);
    expect(message).toMatchObject({ type: "unsupported", v: 1, pid: r.pid, python: version });
    expect(message.reason).toMatch(/3\.8/);
    expect(host.connections[0].closed).toBe(true);
  });
});

describe.each(ALL)("bootstrap on Python $version", ({ version, path: python }) => {
  it("still runs the user's own sitecustomize (and it stays `sitecustomize`)", async () => {
    const host = await newHost();
    const dir = writeProgram({
      "user/sitecustomize.py": "import os\nopen(os.environ['MARKER'], 'w').write('ran')\nUSER_VALUE = 41\n",
      "main.py":
        "import sys, sitecustomize\n" +
        "sys.stdout.write('%d %s\\n' % (sitecustomize.USER_VALUE + 1, sitecustomize.__file__.replace('.pyc', '.py').endswith('user/sitecustomize.py')))\n",
    });
    const marker = path.join(dir, "marker");
    const userPath = path.join(dir, "user");
    const r = await runPython(python, ["main.py"], { cwd: dir, env: agentEnv(host, { MARKER: marker }, userPath) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("42 True\n");
    expect(fs.readFileSync(marker, "utf8")).toBe("ran");
    expect(host.errors()).toEqual([]);
    expect(host.connections.length).toBe(1);
    expect(host.connections[0].messages[0].type).toBe(isSupported(version) ? "hello" : "unsupported");
  });

  it("a failing user sitecustomize is reported by site.py exactly as without leakhound", async () => {
    const host = await newHost();
    const dir = writeProgram({
      "user/sitecustomize.py": "raise ValueError('user sitecustomize is broken')\n",
      "main.py": "print('main runs')\n",
    });
    const userPath = path.join(dir, "user");
    const plain = await runPython(python, ["main.py"], { cwd: dir, env: cleanEnv({ PYTHONPATH: userPath }) });
    const r = await runPython(python, ["main.py"], { cwd: dir, env: agentEnv(host, {}, userPath) });
    await host.settle();
    expect(plain.stderr).toMatch(/sitecustomize/);
    expect(r.stderr).toBe(plain.stderr);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.code).toBe(plain.code);
    expect(host.connections.length).toBe(1);
    expect(host.connections[0].messages[0].type).toBe(isSupported(version) ? "hello" : "unsupported");
  });

  it("works when there is no user sitecustomize", async () => {
    const host = await newHost();
    const dir = writeProgram({ "main.py": "print('plain')\n" });
    const r = await runPython(python, ["main.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("plain\n");
    expect(host.errors()).toEqual([]);
    expect(host.connections.length).toBe(1);
  });
});

describe.each(SUPPORTED)("agent off on Python $version", ({ path: python }) => {
  const PROBE =
    "import sys, threading, tracemalloc\n" +
    "print('agent' in ' '.join(m for m in sys.modules if m.startswith('leakhound')), tracemalloc.is_tracing(), threading.active_count())\n";

  it("is inactive without LEAKHOUND_SOCKET", async () => {
    const dir = writeProgram({ "probe.py": PROBE });
    const r = await runPython(python, ["probe.py"], { cwd: dir, env: cleanEnv({ PYTHONPATH: AGENT_DIR }) });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("False False 1\n");
    expect(r.code).toBe(0);
  });

  it("stays out of the way when the socket cannot be reached", async () => {
    const dir = writeProgram({ "probe.py": PROBE.replace("'agent' in ' '.join(m for m in sys.modules if m.startswith('leakhound'))", "0") });
    const env = cleanEnv({ PYTHONPATH: AGENT_DIR, LEAKHOUND_SOCKET: path.join(dir, "nobody-listens.sock") });
    const r = await runPython(python, ["probe.py"], { cwd: dir, env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0 False 1\n");
    expect(r.code).toBe(0);
  });
});
