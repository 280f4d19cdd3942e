// The body of the stand-in `docker` test/support/fake-docker-exec (which starts it with tsx); its header says what it
// models. Parsing and the refusals come from the host model (composeCall, composeExecRefusal), so a plan's execs and
// an exec run here are judged by the same facts.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { composeCall, composeExecRefusal } from "./hostModel";

function fail(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** The services test/support/fake-docker has running: rows `SERVICE|STATE|HEALTH|FLAGS` of its state file. */
function runningInFakeDocker(stateFile: string | undefined): string | undefined {
  if (!stateFile) return undefined;
  const rows = existsSync(stateFile) ? readFileSync(stateFile, "utf8").split("\n").map((row) => row.split("|")) : [];
  return rows.filter(([, state]) => state === "running").map(([service]) => service).join(" ");
}

const call = composeCall(["docker", ...process.argv.slice(2)]);
if (!call || call.verb !== "exec") fail(97, `fake docker: only \`docker compose [-p P] [-f F] exec -T ...\` is modelled, got: ${process.argv.slice(2).join(" ")}`);
if (!call.flags.includes("-T")) fail(97, "fake docker: exec without -T");
const running = process.env.FAKE_DOCKER_RUNNING ?? runningInFakeDocker(process.env.FAKE_DOCKER_STATE);
if (running === undefined) fail(97, 'fake docker: set FAKE_DOCKER_RUNNING to the services the test runs (e.g. "postgres redis"), or FAKE_DOCKER_STATE');
const composePath = resolve(call.file ?? "compose.yaml");
if (!existsSync(composePath)) fail(1, `open ${composePath}: no such file or directory`);

const refusal = composeExecRefusal(readFileSync(composePath, "utf8"), call, new Set(running.split(/\s+/).filter(Boolean)));
if (refusal) fail(refusal.code, refusal.message);
if (process.env.FAKE_DOCKER_LOG) appendFileSync(process.env.FAKE_DOCKER_LOG, `${call.service}\n`);

// Record-only mode: keep the script of `sh -c SCRIPT` for shellcheck and run nothing.
if (process.env.FAKE_RECORD_SH) {
  if (call.argv[0] === "sh" && call.argv[1] === "-c") writeFileSync(process.env.FAKE_RECORD_SH, call.argv[2]);
  process.exit(0);
}

// The container's paths, mapped into the test's temp dir: the scripts mount and the pg_backups volume.
const { FAKE_SCRIPTS, FAKE_BACKUPS } = process.env;
const argv = call.argv.map((a) => {
  if (FAKE_SCRIPTS) a = a.replaceAll("/opt/lazarus/scripts", FAKE_SCRIPTS);
  if (FAKE_BACKUPS) a = a.replaceAll("/backups", FAKE_BACKUPS);
  return a;
});
// `-e K=V` sets K; a bare `-e K` passes the caller's K, which the environment here already has.
const env = { ...process.env, ...Object.fromEntries(call.env.filter((kv) => kv.includes("=")).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])) };
const run = spawnSync(argv[0], argv.slice(1), { stdio: "inherit", env });
if (run.error) fail(127, `fake docker: ${run.error.message}`);
process.exit(run.status ?? 128 + constants.signals[run.signal!]);
