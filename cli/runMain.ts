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
