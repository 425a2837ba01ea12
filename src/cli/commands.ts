// The option table of every command, declared once: help, parsing, validation
// and the option types the commands receive all come from these declarations
// (commander with @commander-js/extra-typings infers the types).
import { Command, InvalidArgumentError, Option, type OptionValues } from "@commander-js/extra-typings";
import { CONTRACT } from "../protocol/contract.js";
import { EXIT } from "./exit-codes.js";
import { EXPORT_FORMATS } from "../export/formats.js";
import { CONFIDENCES } from "../lint/model.js";
import { SAMPLE_TYPES } from "../export/stacks.js";

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

function positiveInt(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("expected a whole number");
  return n;
}

function repeatArg(value: string): number {
  const n = positiveInt(value);
  const [low, high] = CONTRACT.limits.pytestRepeat;
  if (n < low || n > high) throw new InvalidArgumentError(`expected ${low} to ${high}`);
  return n;
}

function pidArg(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a process id (a whole number)");
  return n;
}

function exitCodeArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 1 || n > 255) throw new InvalidArgumentError("expected a whole number from 1 to 255");
  return n;
}

export const EXIT_HELP = `
Exit codes:
  run        the target's own exit code (128+N when killed by signal N); when
             leakhound stopped the target (--duration), 0 or the leak code
  ${EXIT.leakFound}          --fail-on-leak and a leak was found (change it with --leak-exit-code N);
             diff: --fail-on-new-leak and the after-run has a leak the before-run had not
  ${EXIT.usage}          bad options, no command, or an output file that cannot be written
  attach     0, or the leak code with --fail-on-leak
  ${EXIT.badCapture}          report, export, diff: a capture file cannot be read
  ${EXIT.attachRefused}          attach: ptrace not permitted (another user, yama ptrace_scope, no CAP_SYS_PTRACE),
             or the process is already watched (leakhound run/attach) or traced
  ${EXIT.internal}        leakhound itself failed
  ${EXIT.notObservable}        no Python process could be observed (not Python, -I/-E/-S, Python < 3.8)
  ${EXIT.notFound}        the command or the Python script was not found; attach: no such process, or no gdb
  (leakhound lint has its own: see 'leakhound lint --help')`;

/** The CI outputs, declared once for `run`, `attach` and `report`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function ciOptions<Args extends any[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option("--sarif <file>", "write the leaks as SARIF 2.1.0 (GitHub code scanning shows each at its line)")
    .option("--junit <file>", "write JUnit XML: one test case per process, failed by its leaks")
    .option("--github", "GitHub Actions: an annotation at each leak's line (stdout) and a job summary ($GITHUB_STEP_SUMMARY)");
}

/** The options `run` and `attach` share: outputs, verdict, and how the agent samples. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function watchOptions<Args extends any[], Opts extends OptionValues>(cmd: Command<Args, Opts>, stopWords: string) {
  return ciOptions(cmd)
    .option("--json <file>", "write the JSON report (schema leakhound/report@1)")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--out <file>", "where to save the capture (default: a file in the temp folder)")
    .option("--duration <seconds>", stopWords, positiveNumber)
    .option("--fail-on-leak", "exit with the leak code (3) when the verdict is leak")
    .option("--leak-exit-code <n>", "the exit code for --fail-on-leak, to tell it from the target's own codes", exitCodeArg, EXIT.leakFound)
    .option("--quiet", "no live status line and no terminal report")
    .option("--verbose", "the collector's error bounds and other detail in the terminal report")
    .option("--lint", "lint the leaks' own files (leakhound lint, with python3) and show the findings that explain each leak, with their fix")
    // Defaults are the host/agent contract's (agent/leakhound_agent/contract.json).
    .addOption(
      new Option("--collector <name>", "sampling is the low-overhead default; tracemalloc is exact, slower")
        .choices(CONTRACT.collectors as readonly string[])
        .default(CONTRACT.defaults.collector),
    )
    .option("--interval <seconds>", "seconds between memory samples", positiveNumber, CONTRACT.defaults.intervalSec)
    .option("--nframes <n>", "frames kept per allocation stack", positiveInt, CONTRACT.defaults.nframes)
    .option("--sample-bytes <n>", "mean bytes between sampled allocations (sampling collector)", positiveInt, CONTRACT.defaults.sampleBytes)
    .option("--retainer-objects <n>", "objects per leak to find reference paths for", positiveInt, CONTRACT.defaults.retainerObjects)
    .option("--retainer-timeout <seconds>", "time budget of each reference-path search", positiveNumber, CONTRACT.defaults.retainerTimeoutSec)
    .option("--no-live-explain", "search for reference paths only at a process's exit (or detach), not while it runs");
}

/** `leakhound run [options] -- <command...>` */
export function declareRun(program: Command) {
  return watchOptions(
    program
      .command("run")
      .description("run a command that starts Python, watch its memory, and report leaks")
      .usage("[options] -- <command...>")
      .argument("<command...>", "the command to run, e.g. python app.py")
      .passThroughOptions(),
    "stop the target (SIGINT, then SIGTERM) after this many seconds; the exit code is then the verdict's (0, or the leak code with --fail-on-leak)",
  )
    .option("--live", "serve a live view on 127.0.0.1 that updates while the target runs; it closes when the target ends")
    .option("--live-keep", "like --live, but keep the view up after the target ends until Ctrl-C")
    .option("--repeat <n>", "pytest: run each test n times in a row, to tell a test that leaks on every run from a one-time cache fill", repeatArg, 1)
    .addHelpText("after", "\nExamples:\n  leakhound run -- python app.py --port 8000\n  leakhound run --repeat 5 -- pytest tests/\n  leakhound run --duration 60 --json leaks.json -- python -m mypkg.worker\n  leakhound run -- gunicorn app:app\n" + EXIT_HELP);
}

/** `leakhound attach [options] <pid>` */
export function declareAttach(program: Command) {
  return watchOptions(
    program
      .command("attach")
      .description("attach to a running CPython 3.8+ process (started without leakhound), watch its memory, report leaks, and detach")
      .argument("<pid>", "the process to attach to", pidArg),
    "detach after this many seconds (default: at Ctrl-C or when the process exits); the process runs on",
  ).addHelpText(
    "after",
    "\nExamples:\n  leakhound attach 4242 --duration 60 --html leak.html\n\n" +
      "Injects the agent with gdb (CPython 3.8-3.13; sys.remote_exec on 3.14+). Only memory allocated\n" +
      "after the attach has a site. At the end the agent detaches and the process runs on as before.\n" +
      EXIT_HELP,
  );
}

/** `leakhound report <capture>` */
export function declareReport(program: Command) {
  return ciOptions(
    program
      .command("report")
      .description("re-analyse a saved capture (.lhdb), offline")
      .argument("<capture>", "a capture file written by leakhound run"),
  )
    .option("--json <file>", "write the JSON report")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--quiet", "no terminal report")
    .option("--verbose", "the collector's error bounds and other detail in the terminal report")
    .option("--lint", "lint the leaks' own files (leakhound lint, with python3) and show the findings that explain each leak, with their fix")
    .option("--fail-on-leak", "exit with the leak code (3) when the verdict is leak")
    .option("--leak-exit-code <n>", "the exit code for --fail-on-leak", exitCodeArg, EXIT.leakFound);
}

function listArg(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter(Boolean)];
}

export const LINT_EXIT_HELP = `
Exit codes:
  0          linted (findings or not, unless --fail-on-findings)
  ${EXIT.leakFound}          --fail-on-findings and there were findings
  ${EXIT.usage}          bad options, a path that does not exist, a bad [tool.leakhound], or an output file that cannot be written
  ${EXIT.badCapture}          --capture: the capture file cannot be read
  ${EXIT.internal}        leakhound itself failed
  ${EXIT.notObservable}        the Python cannot run the linter (older than 3.8, not CPython)
  ${EXIT.notFound}        the Python was not found`;

/** `leakhound lint [paths...]` */
export function declareLint(program: Command) {
  return program
    .command("lint")
    .description("find memory-leak causes in Python source before it runs (no code is run)")
    .argument("[paths...]", "files and folders to lint (folders: every *.py below)", ["."])
    .option("--json <file>", "write the findings as JSON (schema leakhound/lint@1)")
    .option("--sarif <file>", "write the findings as SARIF 2.1.0 (code scanning)")
    .option("--github", "print GitHub Actions annotations (::warning file=...::) on stdout instead of the report")
    .option("--python <exe>", "the Python whose ast parses the code (3.8+)", "python3")
    .option("--disable <rules>", "rule ids to switch off, comma-separated (adds to [tool.leakhound] disable)", listArg)
    .option("--exclude <glob>", "paths to leave out, repeatable (adds to [tool.leakhound] exclude)", listArg)
    .option("--capture <file>", "a capture of `leakhound run` (.lhdb): rank findings by the memory their leaks held at run time")
    .addOption(new Option("--confidence <level>", "the lowest confidence to report: high (the code says it grows with data, requests or users) or low (also growth that may be bounded by what the code cannot say); default high, or [tool.leakhound] confidence").choices(CONFIDENCES))
    .option("--fail-on-findings", "exit with the leak code (3) when there is a finding")
    .option("--include-tests", "lint test code too (test_*.py, *_test.py, test.py, tests.py, conftest.py, files under test/, tests/, testing/, pytest/, unit_tests/, test_utils/ and the like below a folder given); by default it is skipped: it runs once per test run")
    .option("--jobs <n>", "Python workers (default: one per core)", positiveInt)
    .option("--quiet", "no terminal report")
    .addHelpText("after", "\nExamples:\n  leakhound lint src/\n  leakhound lint --sarif lint.sarif --fail-on-findings .\n  leakhound lint --python .venv/bin/python app.py\n\nSuppress one finding with `# leakhound: ignore[rule-id]` (or `# leakhound: ignore`) on its line;\nconfigure in pyproject.toml: [tool.leakhound] disable = [...], exclude = [...], confidence = \"low\".\n" + LINT_EXIT_HELP);
}

export type LintOptions = ReturnType<ReturnType<typeof declareLint>["opts"]>;

/** `leakhound export <capture> --format pprof|speedscope|folded -o <file>` */
export function declareExport(program: Command) {
  return program
    .command("export")
    .description("write a capture's allocation stacks for other tools: pprof (go tool pprof, Pyroscope, Parca, Grafana), speedscope, folded stacks (flamegraph.pl)")
    .argument("<capture>", "a capture file written by leakhound run")
    .addOption(new Option("--format <format>", "the output format").choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption("-o, --output <file>", "the file to write")
    .option("--pid <pid>", "only this process (default: every process, each under a 'pid N: command' root frame when there are several)", positiveInt)
    .addOption(
      new Option("--value <type>", "the weight of speedscope and folded stacks (pprof holds all four)").choices(SAMPLE_TYPES).default("inuse_space" as const),
    )
    .addHelpText(
      "after",
      "\nValues: inuse_* are the live bytes/objects at the end of the capture; alloc_* are a lower bound of what was\n" +
        "allocated (the sum of the rises of the live figures between samples), as allocation totals are not recorded.\n" +
        "\nExamples:\n  leakhound export capture.lhdb --format pprof -o heap.pb.gz && go tool pprof -top heap.pb.gz\n" +
        "  leakhound export capture.lhdb --format folded -o heap.folded && flamegraph.pl heap.folded > heap.svg\n",
    );
}

/** `leakhound diff <before> <after>` */
export function declareDiff(program: Command) {
  return program
    .command("diff")
    .description("compare the leaks of two captures (before and after a fix): fixed, still leaking, new, or inconclusive")
    .argument("<before>", "the capture before the change")
    .argument("<after>", "the capture after the change")
    .option("--json <file>", "write the comparison as JSON (schema leakhound/diff@1)")
    .option("--quiet", "no terminal output")
    .option("--fail-on-new-leak", "exit with the leak code (3) when the after-run has a leak the before-run had not")
    .option("--leak-exit-code <n>", "the exit code for --fail-on-new-leak", exitCodeArg, EXIT.leakFound)
    .addHelpText(
      "after",
      "\nSites are matched by file, function and line of code, so a fix that moves the line still matches.\n" +
        "'fixed' needs an after-run long enough to have seen the before-rate; else the site is inconclusive.\n" +
        "\nExample:\n  leakhound run --out before.lhdb -- python app.py   # fix, then:\n" +
        "  leakhound run --out after.lhdb -- python app.py\n  leakhound diff before.lhdb after.lhdb --fail-on-new-leak\n",
    );
}

export type ExportOptions = ReturnType<ReturnType<typeof declareExport>["opts"]>;
export type DiffOptions = ReturnType<ReturnType<typeof declareDiff>["opts"]>;
/** `leakhound explain <pid>` */
export function declareExplain(program: Command) {
  return program
    .command("explain")
    .description("ask the leakhound run that watches a process why its leaks stay alive, now, while it runs")
    .argument("<pid>", "a Python process running under leakhound run")
    .option("--json <file>", "write the analysis of that process so far as JSON")
    .option("--quiet", "no terminal output")
    .option("--timeout <seconds>", "how long to wait for the answer", positiveNumber, 60)
    .addHelpText("after", "\nExample, from another terminal while `leakhound run -- python app.py` runs:\n  leakhound explain 4242\n");
}

export type ExplainOptions = ReturnType<ReturnType<typeof declareExplain>["opts"]>;
export type RunOptions = ReturnType<ReturnType<typeof declareRun>["opts"]>;
export type AttachOptions = ReturnType<ReturnType<typeof declareAttach>["opts"]>;
export type ReportOptions = ReturnType<ReturnType<typeof declareReport>["opts"]>;
