import { Command, CommanderError } from "commander";
// What every CLI here returns, and how it runs as a program: the commands are functions that return their output and
// exit code (so tests call them in-process), and this prints them when the file is run by `npm run ...`.

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `run` on the process's arguments, prints its output and sets the exit code; an unexpected throw exits 1. */
export function runAsMain(name: string, run: (argv: string[]) => Promise<CliResult>): void {
  run(process.argv.slice(2)).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    },
    (e: unknown) => {
      process.stderr.write(`${name} failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Parses `argv` with a commander program whose help and errors go to `write` (never the terminal, never
 * process.exit), so a CLI stays a function. Returns undefined to go on, or the exit code commander decided: 0 after
 * --help/--version, 2 for a usage error (an unknown option, a missing required one).
 */
export function parseCommandLine(program: Command, argv: string[], write: { out: (s: string) => void; err: (s: string) => void }): number | undefined {
  program.exitOverride().configureOutput({ writeOut: write.out, writeErr: write.err });
  try {
    program.parse(argv, { from: "user" });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}
