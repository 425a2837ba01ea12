// `leakhound attach`'s refusals that this machine cannot produce for real (no yama, root with
// CAP_SYS_PTRACE): each names its cause and the fix. And the injected Python stays valid
// Python, whatever the paths hold.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { type TargetInfo, type TracerFacts, attachNote, checkAttachable, formatAge, injectedPython } from "../../src/host/attach.js";
import { EXIT, UserError } from "../../src/errors.js";

const target: TargetInfo = {
  pid: 4242,
  name: "python3",
  uids: [1000, 1000, 1000],
  gids: [1000, 1000, 1000],
  tracerPid: 0,
  exe: "/proc/4242/exe",
  exeTarget: "/usr/bin/python3.11",
  python: null,
};

function facts(over: Partial<TracerFacts> = {}): TracerFacts {
  return { uid: 1000, gid: 1000, capPtrace: false, yamaScope: null, environ: () => "", comm: () => "gdb", ...over };
}

function refusal(t: TargetInfo, f: TracerFacts): { message: string; code: number } | null {
  try {
    checkAttachable(t, f);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return { message: (err as UserError).message, code: (err as UserError).exitCode };
  }
}

describe("attach refusals", () => {
  it("the same user without yama: allowed", () => {
    expect(refusal(target, facts())).toBeNull();
  });

  it("yama ptrace_scope 1, 2 and 3 each say what they allow and how to attach anyway", () => {
    expect(refusal(target, facts({ yamaScope: 1 }))).toEqual({
      code: EXIT.attachRefused,
      message:
        "ptrace not permitted: kernel.yama.ptrace_scope is 1 (only a process's ancestors may attach to it); " +
        "run leakhound attach with sudo, or allow it with 'sudo sysctl kernel.yama.ptrace_scope=0'",
    });
    expect(refusal(target, facts({ yamaScope: 2 }))?.message).toMatch(/ptrace_scope is 2 \(only CAP_SYS_PTRACE may attach\); run leakhound attach as root \(sudo\)$/);
    expect(refusal(target, facts({ yamaScope: 3 }))?.message).toMatch(/ptrace_scope is 3, which forbids attaching to any process until the next reboot$/);
    // CAP_SYS_PTRACE (root, usually) passes scopes 1 and 2, never 3.
    expect(refusal(target, facts({ yamaScope: 1, capPtrace: true }))).toBeNull();
    expect(refusal(target, facts({ yamaScope: 2, capPtrace: true }))).toBeNull();
    expect(refusal(target, facts({ yamaScope: 3, capPtrace: true }))?.code).toBe(EXIT.attachRefused);
  });

  it("another user's process, and root without CAP_SYS_PTRACE in a container", () => {
    expect(refusal(target, facts({ uid: 1001, gid: 1001 }))?.message).toBe(
      "ptrace not permitted: process 4242 (python3) belongs to another user (uid 1000); run 'leakhound attach' as that user, or as root (sudo)",
    );
    expect(refusal(target, facts({ uid: 0, gid: 0 }))?.message).toMatch(
      /^ptrace not permitted: leakhound runs as root without the CAP_SYS_PTRACE capability \(in a container\?\), and process 4242 belongs to uid 1000; run the container with --cap-add=SYS_PTRACE/,
    );
    expect(refusal(target, facts({ uid: 0, gid: 0, capPtrace: true }))).toBeNull();
  });

  it("already watched by leakhound run, or traced", () => {
    expect(refusal(target, facts({ environ: () => "HOME=/root\0LEAKHOUND_SOCKET=/tmp/x/agent.sock\0" }))?.message).toBe(
      "process 4242 (python3) is already being watched: it runs under 'leakhound run'",
    );
    expect(refusal({ ...target, tracerPid: 77 }, facts())?.message).toMatch(/^process 4242 \(python3\) is already being traced by process 77 \(gdb\)/);
  });
});

describe("attach notes and the injected code", () => {
  it("says how long the process had run", () => {
    expect(formatAge(3 * 3600 + 12 * 60 + 5)).toBe("3 h 12 min");
    expect(formatAge(245)).toBe("4 min 5 s");
    expect(formatAge(2 * 86400 + 3600)).toBe("2 d 1 h");
    expect(attachNote(4242, 11525)).toBe(
      "attached to process 4242 after 3 h 12 min; memory allocated before the attach has no site (only what it allocated while attached is traced)",
    );
  });

  it("is valid Python whatever the socket path holds, and binds no name where it runs", () => {
    const code = injectedPython(`/tmp/it's "odd"\\path\n/é/agent.sock`, { collector: "auto", intervalSec: 0.5 });
    const out = execFileSync("python3", ["-c", `import ast, sys\ntree = ast.parse(sys.stdin.read())\nprint(len(tree.body), type(tree.body[0]).__name__)\n`], { input: code }).toString();
    expect(out.trim()).toBe("1 Try");
    // Run where leakhound_agent cannot start (no such socket): nothing raised, nothing added to the namespace.
    const run = `ns = {}\nexec(compile(sys.stdin.read(), "x", "exec"), ns)\nprint(sorted(k for k in ns if k != "__builtins__"))`;
    expect(execFileSync("python3", ["-c", `import sys\n${run}`], { input: code }).toString().trim()).toBe("[]");
  });
});
