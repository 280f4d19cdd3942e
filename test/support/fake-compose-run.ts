// A stand-in for `docker compose -p P -f F run --rm --no-deps api ARGV...`, the two one-off commands GoodGo's recovery
// runs with the API image (stacks/goodgo/commands.ts migrateCommand, reindexTypesenseCommand): GoodGo's image is not
// public and no Docker engine runs here. Started with tsx by a script the test writes (test/engine/goodgoStack.ts
// writeGoodgoComposeRun), which the plan host's compose plugin hands every `compose ... run` to.
//
// Strict: it refuses, before anything runs,
//   - any call other than `run` with exactly the flags --rm --no-deps (no -e, -u, -w, no other flag): exit 97;
//   - a service other than api, or one the REAL rendered compose file at F lacks ("no such service: S", exit 1);
//   - a program the service's image does not ship (lib/imageFacts.ts), as Docker would (exit 126);
//   - any ARGV other than the image's two commands: `npx prisma migrate deploy`, `npx ts-node scripts/typesense-reindex.ts`
//     (exit 97: not modelled).
// Then it checks what the container would be given: the api service's environment as docker-compose v1 renders it from
// F and the deploy dir's .env (the env_file) must hold DATABASE_URL and DATABASE_URL_DIRECT naming the database the
// postgres service runs (its POSTGRES_DB) and the user it creates (POSTGRES_USER); the reindex also needs
// TYPESENSE_API_KEY. And it connects to that database as that user (psql, host and port taken from
// FAKE_RUN_PG_HOST/FAKE_RUN_PG_PORT: the test's PostgreSQL stands for the `postgres` service) and asks SELECT 1 and
// how many tables the public schema holds. It appends one JSON line per run to $FAKE_DOCKER_LOG-run.jsonl
// ({service, argv, database, user, tables}) so the test can say what each command found, prints a line, exits 0.
// Not checked (only the real image shows it): the migrations themselves (prisma's schema and migration history), the
// reindex's Typesense calls and documents, the password in the URLs (the test's PostgreSQL trusts loopback), the
// container's network (service names are not resolved: FAKE_RUN_PG_* stand for them).
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { imageFacts } from "../../lib/imageFacts";
import { renderedServiceEnvironment } from "./composeConfig";
import { composeCall } from "./hostModel";

/** The API image's one-off commands, as stacks/goodgo/commands.ts runs them. */
const API_IMAGE_COMMANDS: readonly (readonly string[])[] = [
  ["npx", "prisma", "migrate", "deploy"],
  ["npx", "ts-node", "scripts/typesense-reindex.ts"],
];

function fail(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
const call = composeCall(["docker", ...args]);
if (!call || call.verb !== "run") fail(97, `fake compose run: only \`docker compose [-p P] [-f F] run --rm --no-deps api ...\` is modelled, got: ${args.join(" ")}`);
if (call.env.length || call.user !== undefined || [...call.flags].sort().join(" ") !== "--no-deps --rm" || args.some((a) => a === "-w" || a === "--workdir")) {
  fail(97, `fake compose run: only the flags --rm --no-deps are modelled (no -e, -u, -w), got: ${args.join(" ")}`);
}
const composePath = resolve(call.file ?? "compose.yaml");
if (!existsSync(composePath)) fail(1, `open ${composePath}: no such file or directory`);
const services = (parse(readFileSync(composePath, "utf8")) as { services: Record<string, { image: string }> }).services;
if (!services[call.service]) fail(1, `no such service: ${call.service}`);
if (call.service !== "api") fail(97, `fake compose run: only the api service's one-off commands are modelled, got ${call.service}`);
if (!imageFacts(services.api.image).executables.includes(call.argv[0])) {
  fail(126, `OCI runtime exec failed: exec failed: unable to start container process: exec: "${call.argv[0]}": executable file not found in $PATH: unknown`);
}
if (!API_IMAGE_COMMANDS.some((c) => c.join("\u0000") === call.argv.join("\u0000"))) {
  fail(97, `fake compose run: the API image's commands here are ${API_IMAGE_COMMANDS.map((c) => `\`${c.join(" ")}\``).join(" and ")}, got \`${call.argv.join(" ")}\``);
}

// The environment the container would get (environment and env_file merged, as compose renders them).
let apiEnv: Record<string, string>;
let pgEnv: Record<string, string>;
try {
  apiEnv = renderedServiceEnvironment(composePath, "api");
  pgEnv = renderedServiceEnvironment(composePath, "postgres");
} catch (e) {
  fail(1, (e as Error).message);
}
const liveDb = pgEnv.POSTGRES_DB;
const dbUser = pgEnv.POSTGRES_USER;
if (!liveDb || !dbUser) fail(1, "fake compose run: the postgres service's environment names no POSTGRES_DB/POSTGRES_USER");
for (const name of ["DATABASE_URL", "DATABASE_URL_DIRECT"]) {
  const value = apiEnv[name];
  if (!value) fail(1, `fake compose run: the api container would get no ${name} (env_file .env)`);
  const url = new URL(value);
  const db = decodeURIComponent(url.pathname.slice(1));
  if (db !== liveDb || decodeURIComponent(url.username) !== dbUser) {
    fail(1, `fake compose run: ${name} names database ${db} as ${decodeURIComponent(url.username)}, the postgres service runs ${liveDb} for ${dbUser}`);
  }
}
if (call.argv.includes("scripts/typesense-reindex.ts") && !apiEnv.TYPESENSE_API_KEY) fail(1, "fake compose run: the reindex would get no TYPESENSE_API_KEY");

const { FAKE_RUN_PG_HOST, FAKE_RUN_PG_PORT, FAKE_DOCKER_LOG } = process.env;
if (!FAKE_RUN_PG_HOST || !FAKE_RUN_PG_PORT) fail(97, "fake compose run: set FAKE_RUN_PG_HOST and FAKE_RUN_PG_PORT (the test's PostgreSQL)");
const psql = spawnSync(
  "psql",
  ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", FAKE_RUN_PG_HOST, "-p", FAKE_RUN_PG_PORT, "-U", dbUser, "-d", liveDb, "-c", "SELECT 1", "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"],
  { encoding: "utf8", env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: "5" } },
);
if (psql.status !== 0) fail(1, `fake compose run: ${liveDb} does not answer as ${dbUser}: ${psql.stderr.trim()}`);
const [one, tables] = psql.stdout.trim().split("\n");
if (one !== "1") fail(1, `fake compose run: SELECT 1 answered ${one}`);
if (FAKE_DOCKER_LOG) appendFileSync(`${FAKE_DOCKER_LOG}-run.jsonl`, `${JSON.stringify({ service: call.service, argv: call.argv, database: liveDb, user: dbUser, tables: Number(tables) })}\n`);
process.stdout.write(`fake compose run: \`${call.argv.join(" ")}\` not run (no API image here); ${liveDb} answers as ${dbUser} with ${tables} table(s)\n`);
