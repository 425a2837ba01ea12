#!/usr/bin/env node
// leakhound's command line: the option table is declared once and help comes from it.
import { Command, InvalidArgumentError, CommanderError } from "commander";
import { VERSION } from "./version.js";
import { CONTRACT } from "./protocol/contract.js";
import { EXIT, UserError } from "./cli/exit-codes.js";
import { runCommand, type RunOptions } from "./cli/run-command.js";
import { reportCommand, type ReportOptions } from "./cli/report-command.js";

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

function exitCodeArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 1 || n > 255) throw new InvalidArgumentError("expected a whole number from 1 to 255");
  return n;
}

const EXIT_HELP = `
Exit codes:
  run        the target's own exit code (128+N when killed by signal N); when
             leakhound stopped the target (--duration), 0 or the leak code
  ${EXIT.leakFound}          --fail-on-leak and a leak was found (change it with --leak-exit-code N)
  ${EXIT.usage}          bad options, no command, or an output file that cannot be written
  ${EXIT.badCapture}          report: the capture file cannot be read
  ${EXIT.internal}        leakhound itself failed
  ${EXIT.notObservable}        no Python process could be observed (not Python, -I/-E/-S, Python < 3.8)
  ${EXIT.notFound}        the command or the Python script was not found`;

/** A commander parse error (or help/version), with the command it belongs to. */
class ParseExit extends Error {
  constructor(
    readonly err: CommanderError,
    readonly command: string,
  ) {
    super(err.message);
  }
}

/** Commander prints nothing itself; main() prints one `leakhound:` line instead. */
function quietErrors(cmd: Command, name: string): Command {
  return cmd
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .showHelpAfterError(false)
    .exitOverride((err) => {
      throw new ParseExit(err, name);
    });
}

function build(): Command {
  const program = quietErrors(
    new Command("leakhound")
      .description("Find memory leaks in Python programs: is it a leak, where is it allocated, why does it stay alive.")
      .version(VERSION)
      .enablePositionalOptions()
      .addHelpText("after", EXIT_HELP),
    "leakhound",
  );

  const run = program
    .command("run")
    .description("run a command that starts Python, watch its memory, and report leaks")
    .usage("[options] -- <command...>")
    .argument("<command...>", "the command to run, e.g. python app.py")
    .passThroughOptions()
    .option("--json <file>", "write the JSON report (schema leakhound/report@1)")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--out <file>", "where to save the capture (default: a file in the temp folder)")
    .option("--duration <seconds>", "stop the target (SIGINT, then SIGTERM) after this many seconds; the exit code is then the verdict's (0, or the leak code with --fail-on-leak)", positiveNumber)
    .option("--fail-on-leak", "exit with the leak code (3) when the verdict is leak")
    .option("--leak-exit-code <n>", "the exit code for --fail-on-leak, to tell it from the target's own codes", exitCodeArg, EXIT.leakFound)
    .option("--quiet", "no live status line and no terminal report")
    .option("--live", "serve a live view on 127.0.0.1 that updates while the target runs; it closes when the target ends")
    .option("--live-keep", "like --live, but keep the view up after the target ends until Ctrl-C")
    .option("--verbose", "the collector's error bounds and other detail in the terminal report")
    // Defaults are the host/agent contract's (agent/leakhound_agent/contract.json).
    .option("--collector <name>", `${CONTRACT.collectors.join(" | ")} (tracemalloc: exact, slower)`, CONTRACT.defaults.collector)
    .option("--interval <seconds>", "seconds between memory samples", positiveNumber, CONTRACT.defaults.intervalSec)
    .option("--nframes <n>", "frames kept per allocation stack", positiveInt, CONTRACT.defaults.nframes)
    .option("--sample-bytes <n>", "mean bytes between sampled allocations (sampling collector)", positiveInt, CONTRACT.defaults.sampleBytes)
    .option("--retainer-objects <n>", "objects per leak to find reference paths for", positiveInt, CONTRACT.defaults.retainerObjects)
    .option("--retainer-timeout <seconds>", "time budget of the reference-path search at exit", positiveNumber, CONTRACT.defaults.retainerTimeoutSec)
    .addHelpText("after", "\nExamples:\n  leakhound run -- python app.py --port 8000\n  leakhound run --duration 60 --json leaks.json -- python -m mypkg.worker\n  leakhound run -- gunicorn app:app\n" + EXIT_HELP)
    .action(async (command: string[], opts: RunOptions) => {
      if (!CONTRACT.collectors.includes(opts.collector))
        throw new UserError(`unknown collector '${opts.collector}': use ${CONTRACT.collectors.join(", ")}`, EXIT.usage);
      process.exitCode = await runCommand(command, opts);
    });
  quietErrors(run, "run");

  const report = program
    .command("report")
    .description("re-analyse a saved capture (.lhdb), offline")
    .argument("<capture>", "a capture file written by leakhound run")
    .option("--json <file>", "write the JSON report")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--quiet", "no terminal report")
    .option("--verbose", "the collector's error bounds and other detail in the terminal report")
    .option("--fail-on-leak", "exit with the leak code (3) when the verdict is leak")
    .option("--leak-exit-code <n>", "the exit code for --fail-on-leak", exitCodeArg, EXIT.leakFound)
    .action((file: string, opts: ReportOptions) => {
      process.exitCode = reportCommand(file, opts);
    });
  quietErrors(report, "report");
  return program;
}

/** One line for a parse error, e.g. `unknown option '--bogus' (see 'leakhound run --help')`. */
function parseErrorLine(e: ParseExit): string {
  const help = e.command === "leakhound" ? "leakhound --help" : `leakhound ${e.command} --help`;
  let message = e.err.message.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ");
  if (e.err.code === "commander.missingArgument" && e.command === "run")
    message = "no command to run: give it after --, e.g. leakhound run -- python app.py";
  else if (e.err.code === "commander.help") {
    const args = process.argv.slice(2);
    message = args.length
      ? `unknown command '${args[args.length - 1]}'`
      : "no command: use 'leakhound run -- <command...>' or 'leakhound report <capture>'";
  }
  return `leakhound: ${message} (see '${help}')\n`;
}

async function main(): Promise<void> {
  const program = build();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ParseExit) {
      // Help and version exit 0 (commander printed them on stdout).
      if (err.err.exitCode === 0) {
        process.exitCode = 0;
        return;
      }
      process.stderr.write(parseErrorLine(err));
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`leakhound: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`leakhound: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.LEAKHOUND_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    process.exitCode = EXIT.internal;
  }
}

void main();
