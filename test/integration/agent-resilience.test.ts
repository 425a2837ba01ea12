// The agent never harms the target: the host dying, fork, child interpreters,
// and everything behaviour.py exercises, on every CPython 3.8+.
import { afterEach, describe, expect, it } from "vitest";
import path from "node:path";
import { FakeHost, agentEnv, cleanEnv, runPython, writeProgram } from "../helpers/agent-host.js";
import { PROGRAMS } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";

const PYTHONS = findPythons();

const hosts: FakeHost[] = [];
async function newHost(opts: Parameters<typeof FakeHost.start>[0] = {}): Promise<FakeHost> {
  const host = await FakeHost.start(opts);
  hosts.push(host);
  return host;
}
afterEach(() => {
  while (hosts.length) hosts.pop()!.close();
});

// SIGPIPE's default action is restored on purpose: a dead host must not kill the target even then.
const CHATTY_PY = `import signal, sys, threading, time, tracemalloc

signal.signal(signal.SIGPIPE, signal.SIG_DFL)
KEEP = []
for i in range(300):
    KEEP.append("x" * 1000 + str(i))
    print("line", i, sum(range(i)))
    sys.stdout.flush()
    time.sleep(0.01)
print("threads", threading.active_count(), [t.name for t in threading.enumerate()])
print("tracing", tracemalloc.is_tracing())
print("end")
`;

const FORK_PY = `import os, sys, time

LEAK = []


def grow(n):
    for i in range(n):
        LEAK.append(bytearray(5000))
        time.sleep(0.005)


grow(30)
pid = os.fork()
if pid == 0:
    grow(60)
    sys.stdout.write("child %d %d\\n" % (os.getpid(), os.getppid()))
    sys.stdout.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
grow(30)
print("parent", os.getpid(), status)
`;

const SPAWN_PY = `import multiprocessing as mp
import os


def child(q):
    q.put(("child", os.getpid(), os.getppid()))


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    name, pid, ppid = q.get(timeout=60)
    p.join()
    print(name, pid, ppid == os.getpid(), p.exitcode)
`;

describe.each(PYTHONS)("agent resilience on Python $version", ({ path: python }) => {
  it("the host dying mid-run: the target finishes with byte-identical output", async () => {
    const dir = writeProgram({ "chatty.py": CHATTY_PY });
    const plain = await runPython(python, ["chatty.py"], { cwd: dir, env: cleanEnv() });
    expect(plain.code).toBe(0);
    let samples = 0;
    const host = await newHost({
      onMessage: (conn, m) => {
        if (m.type === "sample" && ++samples === 3) conn.socket.destroy();
      },
    });
    const r = await runPython(python, ["chatty.py"], { cwd: dir, env: agentEnv(host) });
    expect(samples).toBe(3);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.signal).toBe(null);
    expect(host.errors()).toEqual([]);
  });

  it("the host dying during the exit handshake: the target exits normally", async () => {
    const dir = writeProgram({ "chatty.py": CHATTY_PY });
    const plain = await runPython(python, ["chatty.py"], { cwd: dir, env: cleanEnv() });
    const host = await newHost({
      onExiting: (conn) => {
        conn.socket.destroy();
        return null;
      },
    });
    const r = await runPython(python, ["chatty.py"], { cwd: dir, env: agentEnv(host) });
    // tracemalloc is still on at exit time in this run; everything else is identical.
    expect(r.stdout).toBe(plain.stdout.replace("tracing False", "tracing True"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(host.connections[0].ofType("exiting").length).toBe(1);
  });

  it("a forked child reports on its own connection; no fork warning on any version", async () => {
    const dir = writeProgram({ "fork.py": FORK_PY });
    const host = await newHost();
    // Turn the 3.12+ "multi-threaded fork" DeprecationWarning into an error: the agent's thread must not cause it.
    const r = await runPython(python, ["-W", "error::DeprecationWarning", "fork.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const childLine = r.stdout.split("\n").find((l) => l.startsWith("child "))!;
    const [, childPid, childPpid] = childLine.split(" ").map(Number);
    expect(childPpid).toBe(r.pid);
    expect(r.stdout).toContain(`parent ${r.pid} 0`);
    expect(host.errors()).toEqual([]);
    expect(host.connections.length).toBe(2);

    const parent = host.byPid(r.pid)!;
    const child = host.byPid(childPid)!;
    expect(parent.hello()).toMatchObject({ pid: r.pid, ppid: process.pid });
    expect(child.hello()).toMatchObject({ pid: childPid, ppid: r.pid });
    expect(child.ofType("sample").length).toBeGreaterThanOrEqual(2);
    // The child starts numbering afresh and defines its own stacks.
    expect(child.ofType("sample")[0].seq).toBe(1);
    expect(child.stacks.size).toBeGreaterThan(0);
    // The child leaves with os._exit: no exit handshake there; the parent's still happens.
    expect(child.ofType("exiting")).toEqual([]);
    expect(parent.ofType("exiting").length).toBe(1);
    // Parent kept sampling after the fork.
    const parentSamples = parent.ofType("sample");
    expect(parentSamples.length).toBeGreaterThanOrEqual(4);
  });

  it("the program's own after-fork hooks collecting garbage and raising audit events: no fork warning, sampling resumes", async () => {
    // 3.13+ counts threads after every after_in_parent hook; ours runs first, so the sampling thread
    // must not come back from a collection or an audit event inside the program's later hook.
    const program = `import gc, os, sys, time
def after():
    gc.collect()
    open(os.devnull).close()
os.register_at_fork(after_in_parent=after)
os.register_at_fork(after_in_parent=gc.collect)
def forks(n):
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
forks(3)
KEEP = []
for i in range(200):
    KEEP.append(bytearray(4000))
    time.sleep(0.01)
forks(2)
print("parent done", len(KEEP))
`;
    const dir = writeProgram({ "hooks.py": program });
    const host = await newHost();
    const r = await runPython(python, ["-W", "error::DeprecationWarning", "hooks.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("parent done 200\n");
    expect(r.code).toBe(0);
    expect(host.errors()).toEqual([]);
    const parent = host.byPid(r.pid)!;
    // Two seconds of growth after the first forks: the parent's sampling thread came back.
    expect(parent.ofType("sample").length).toBeGreaterThanOrEqual(3);
    expect(parent.ofType("exiting").length).toBe(1);
  });

  it("a fork that execs right away (preexec_fn, fork+exec) does not report as a process of its own", async () => {
    const program = `import os, subprocess, sys
subprocess.run([sys.executable, "-c", "print('grandchild')"], preexec_fn=lambda: None, check=True)
pid = os.fork()
if pid == 0:
    os.execv("/bin/echo", ["echo", "execd"])
os.waitpid(pid, 0)
print("parent done")
`;
    const dir = writeProgram({ "execs.py": program });
    const host = await newHost();
    const r = await runPython(python, ["execs.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("grandchild\nexecd\nparent done\n");
    expect(host.errors()).toEqual([]);
    const hellos = host.connections.map((c) => c.hello()).filter(Boolean);
    // The parent, and the Python that subprocess ran; the pre-exec forks stay silent.
    expect(hellos.length).toBe(2);
    expect(new Set(hellos.map((h) => h.pid)).size).toBe(2);
    expect(hellos.find((h) => h.pid !== r.pid)).toMatchObject({ ppid: r.pid });
  });

  it("a spawned child interpreter connects with its own hello", async () => {
    const dir = writeProgram({ "spawner.py": SPAWN_PY });
    const host = await newHost();
    const r = await runPython(python, ["spawner.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [, childPid, sameParent, exitcode] = r.stdout.trim().split(" ");
    expect(sameParent).toBe("True");
    expect(exitcode).toBe("0");
    expect(host.errors()).toEqual([]);
    const child = host.byPid(Number(childPid));
    expect(child?.hello()).toMatchObject({ ppid: r.pid });
    expect(host.byPid(r.pid)?.hello()).toBeDefined();
  });

  it("behaviour.py (threads, asyncio, signals, fork, gc, tracemalloc, stdin) behaves as without the agent", async () => {
    const env = { BEHAVIOUR_MARK: "m2", BEHAVIOUR_EXIT: "7" };
    const args = ["-W", "error::DeprecationWarning", "behaviour.py", "arg1", "--flag"];
    const plain = await runPython(python, args, { cwd: PROGRAMS, env: cleanEnv(env), input: "some input\n" });
    const host = await newHost();
    const r = await runPython(python, args, { cwd: PROGRAMS, env: agentEnv(host, env), input: "some input\n" });
    await host.settle();
    expect(plain.code).toBe(7);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe(plain.stderr);
    expect(r.code).toBe(7);
    expect(host.errors()).toEqual([]);
    expect(host.byPid(r.pid)?.ofType("exiting").length).toBe(1);
  });

  it("KeyboardInterrupt in the main thread still ends the program as usual", async () => {
    const program = `import time\nKEEP = []\ntry:\n    for i in range(30):\n        KEEP.append(bytearray(1000)); time.sleep(0.01)\n    raise KeyboardInterrupt\nfinally:\n    print("finally")\n`;
    const dir = writeProgram({ "kbd.py": program });
    const plain = await runPython(python, ["kbd.py"], { cwd: dir, env: cleanEnv() });
    const host = await newHost();
    const r = await runPython(python, ["kbd.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr.split(dir).join("")).toBe(plain.stderr.split(dir).join(""));
    expect(r.code).toBe(plain.code);
    expect(host.errors()).toEqual([]);
  });
});

describe("fake host sanity", () => {
  it("uses the agent dir of this checkout", () => {
    expect(path.basename(PROGRAMS)).toBe("programs");
  });
});
