#!/usr/bin/env node
// leakhound's command line: the option table is declared once and help comes from it.
import { Command, CommanderError } from "@commander-js/extra-typings";
import { VERSION } from "./version.js";
import { EXIT, UserError } from "./cli/exit-codes.js";
import { EXIT_HELP, declareAttach, declareDiff, declareExplain, declareExport, declareLint, declareReport, declareRun } from "./cli/commands.js";
import { attachCommand } from "./cli/attach-command.js";
import { runCommand } from "./cli/run-command.js";
import { reportCommand } from "./cli/report-command.js";
import { explainCommand } from "./cli/explain-command.js";
import { exportCommand } from "./cli/export-command.js";
import { diffCommand } from "./cli/diff-command.js";
import { lintCommand } from "./cli/lint-command.js";

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
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function quietErrors<C extends Command<any, any, any>>(cmd: C, name: string): C {
  cmd
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .showHelpAfterError(false)
    .exitOverride((err) => {
      throw new ParseExit(err, name);
    });
  return cmd;
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

  const run = declareRun(program).action(async (command, opts) => {
    process.exitCode = await runCommand(command, opts);
  });
  quietErrors(run, "run");

  const attach = declareAttach(program).action(async (pid, opts) => {
    process.exitCode = await attachCommand(pid, opts);
  });
  quietErrors(attach, "attach");

  const report = declareReport(program).action(async (file, opts) => {
    process.exitCode = await reportCommand(file, opts);
  });
  quietErrors(report, "report");

  const explain = declareExplain(program).action(async (pid, opts) => {
    process.exitCode = await explainCommand(pid, opts);
  });
  quietErrors(explain, "explain");

  const exp = declareExport(program).action(async (file, opts) => {
    process.exitCode = await exportCommand(file, opts);
  });
  quietErrors(exp, "export");

  const diff = declareDiff(program).action((before, after, opts) => {
    process.exitCode = diffCommand(before, after, opts);
  });
  quietErrors(diff, "diff");

  const lintCmd = declareLint(program).action(async (paths, opts) => {
    process.exitCode = await lintCommand(paths, opts);
  });
  quietErrors(lintCmd, "lint");
  return program;
}

/** One line for a parse error, e.g. `unknown option '--bogus' (see 'leakhound run --help')`. */
function parseErrorLine(e: ParseExit): string {
  const help = e.command === "leakhound" ? "leakhound --help" : `leakhound ${e.command} --help`;
  let message = e.err.message.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ");
  if (e.err.code === "commander.missingArgument" && e.command === "run")
    message = "no command to run: give it after --, e.g. leakhound run -- python app.py";
  else if (e.err.code === "commander.missingArgument" && e.command === "attach")
    message = "no process to attach to: give its pid, e.g. leakhound attach 4242";
  else if (e.err.code === "commander.help") {
    const args = process.argv.slice(2);
    message = args.length
      ? `unknown command '${args[args.length - 1]}'`
      : "no command: use 'leakhound run -- <command...>', 'leakhound attach <pid>', 'leakhound report <capture>', 'leakhound export <capture>', 'leakhound diff <before> <after>' or 'leakhound lint [paths...]'";
  }
  return `leakhound: ${message} (see '${help}')\n`;
}

async function main(): Promise<void> {
  // `leakhound --help | head`: a closed pipe ends the output, not with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      throw err;
    });
  }
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
