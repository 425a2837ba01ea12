#!/usr/bin/env node
// leakhound's command line: the option table is declared once and help comes from it.
import { Command, InvalidArgumentError, CommanderError } from "commander";
import { VERSION } from "./version.js";
import { EXIT, UserError } from "./cli/exit-codes.js";
import { runCommand, type RunOptions } from "./cli/run-command.js";
import { reportCommand, type ReportOptions } from "./cli/report-command.js";

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

function positiveInt(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("expected a whole number");
  return n;
}

const EXIT_HELP = `
Exit codes:
  run        the target's own exit code (128+N when killed by signal N), or
  ${EXIT.usage}          bad options or no command
  ${EXIT.leakFound}          --fail-on-leak and a leak was found (target exited 0)
  ${EXIT.badCapture}          report: the capture file cannot be read
  ${EXIT.internal}        leakhound itself failed
  ${EXIT.notObservable}        no Python process could be observed (not Python, -I/-E/-S, Python < 3.8)
  ${EXIT.notFound}        the command or the Python script was not found`;

function build(): Command {
  const program = new Command("leakhound")
    .description("Find memory leaks in Python programs: is it a leak, where is it allocated, why does it stay alive.")
    .version(VERSION)
    .enablePositionalOptions()
    .showHelpAfterError()
    .addHelpText("after", EXIT_HELP)
    .exitOverride();

  program
    .command("run")
    .description("run a command that starts Python, watch its memory, and report leaks")
    .usage("[options] -- <command...>")
    .argument("<command...>", "the command to run, e.g. python app.py")
    .passThroughOptions()
    .option("--json <file>", "write the JSON report (schema leakhound/report@1)")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--out <file>", "where to save the capture (default: a file in the temp folder)")
    .option("--duration <seconds>", "stop the target (SIGINT, then SIGTERM) after this many seconds", positiveNumber)
    .option("--fail-on-leak", "exit with code 3 when the verdict is leak")
    .option("--quiet", "no live status line and no terminal report")
    .option("--live", "serve a live view on 127.0.0.1 that updates while the target runs")
    .option("--collector <name>", "auto | sampling | tracemalloc (exact, slower)", "auto")
    .option("--interval <seconds>", "seconds between memory samples", positiveNumber, 0.5)
    .option("--nframes <n>", "frames kept per allocation stack", positiveInt, 16)
    .option("--sample-bytes <n>", "mean bytes between sampled allocations (sampling collector)", positiveInt, 32 * 1024)
    .option("--retainer-objects <n>", "objects per leak to find reference paths for", positiveInt, 200)
    .option("--retainer-timeout <seconds>", "time budget of the reference-path search at exit", positiveNumber, 8)
    .addHelpText("after", "\nExamples:\n  leakhound run -- python app.py --port 8000\n  leakhound run --duration 60 --json leaks.json -- python -m mypkg.worker\n  leakhound run -- gunicorn app:app")
    .action(async (command: string[], opts: RunOptions) => {
      if (!["auto", "sampling", "tracemalloc"].includes(opts.collector))
        throw new UserError(`unknown collector '${opts.collector}': use auto, sampling or tracemalloc`, EXIT.usage);
      process.exitCode = await runCommand(command, opts);
    });

  program
    .command("report")
    .description("re-analyse a saved capture (.lhdb), offline")
    .argument("<capture>", "a capture file written by leakhound run")
    .option("--json <file>", "write the JSON report")
    .option("--html <file>", "write a self-contained HTML report")
    .option("--quiet", "no terminal report")
    .option("--fail-on-leak", "exit with code 3 when the verdict is leak")
    .action((file: string, opts: ReportOptions) => {
      process.exitCode = reportCommand(file, opts);
    });
  return program;
}

async function main(): Promise<void> {
  const program = build();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander already printed its message.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
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
