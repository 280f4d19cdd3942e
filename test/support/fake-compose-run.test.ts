// The API image's stand-in (test/support/fake-compose-run.ts) refuses what it does not model, before anything runs, and
// checks what the container would be given against a real PostgreSQL 15: run on GoodGo's REAL rendered compose file and
// .env (the engine test stack's config, test/engine/goodgoStack.ts).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { REPO_ROOT } from "../../lib/engine/install";
import { goodgoOnHostConfig } from "../engine/goodgoStack";
import { startPostgres, type PostgresServer } from "./postgres";
import { GOODGO_SENTINEL_SECRETS, planFor } from "./stacks";

const MIGRATE = ["npx", "prisma", "migrate", "deploy"];
const REINDEX = ["npx", "ts-node", "scripts/typesense-reindex.ts"];
let dir: string;
let pg: PostgresServer;
let plan: Plan;

function run(args: string[]) {
  const r = spawnSync(join(REPO_ROOT, "node_modules/.bin/tsx"), [join(REPO_ROOT, "test/support/fake-compose-run.ts"), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, FAKE_RUN_PG_HOST: pg.host, FAKE_RUN_PG_PORT: String(pg.port), FAKE_DOCKER_LOG: join(dir, "exec.log") },
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout + r.stderr };
}
const compose = (...rest: string[]) => ["compose", "-p", "goodgo", "-f", "docker-compose.prod.yml", "run", ...rest];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lazarus-compose-run-"));
  plan = await planFor("staging", {
    secrets: GOODGO_SENTINEL_SECRETS,
    patch: (c) => {
      const mine = goodgoOnHostConfig({ host: "127.0.0.1", user: "root", port: 22 }, dir);
      for (const k of Object.keys(c)) delete c[k];
      Object.assign(c, mine);
    },
  });
  // Every rendered file of the deploy dir (compose checks the build context exists), then the .env.
  for (const f of plan.files.filter((x) => x.path.startsWith(`${dir}/`) && x.content !== undefined)) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.content!);
  }
  // The .env is a secret file: its content is the writer's stdin.
  const envWriter = plan.resources.find((r) => r.name === `goodgo-staging-software-file${join(dir, ".env").replace(/[^A-Za-z0-9]+/g, "-")}`)!;
  writeFileSync(join(dir, ".env"), String(envWriter.rawInputs.stdin));
  pg = await startPostgres();
  pg.sql("CREATE ROLE goodgo LOGIN");
  pg.sql("CREATE DATABASE goodgo OWNER goodgo");
}, 120_000);

afterAll(() => {
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the API image's stand-in for `compose run`", () => {
  it("runs the image's two commands when the api's DATABASE_URLs name the live database and it answers, and logs what it found", () => {
    for (const argv of [MIGRATE, REINDEX]) {
      const r = run(compose("--rm", "--no-deps", "api", ...argv));
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain("goodgo answers as goodgo with 0 table(s)");
    }
    expect(readFileSync(join(dir, "exec.log-run.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { argv: string[] }).argv)).toEqual([MIGRATE, REINDEX]);
  });

  it("refuses other flags, services, programs and commands before anything runs", () => {
    expect(run(compose("--rm", "api", ...MIGRATE))).toMatchObject({ code: 97, out: expect.stringContaining("only the flags --rm --no-deps") });
    expect(run(compose("--rm", "--no-deps", "-e", "DATABASE_URL=x", "api", ...MIGRATE))).toMatchObject({ code: 97 });
    expect(run(compose("--rm", "--no-deps", "-u", "root", "api", ...MIGRATE))).toMatchObject({ code: 97 });
    expect(run(compose("--rm", "--no-deps", "nosuch", ...MIGRATE))).toMatchObject({ code: 1, out: expect.stringContaining("no such service: nosuch") });
    expect(run(compose("--rm", "--no-deps", "postgres", "psql"))).toMatchObject({ code: 97, out: expect.stringContaining("only the api service") });
    expect(run(compose("--rm", "--no-deps", "api", "curl", "http://x"))).toMatchObject({ code: 126, out: expect.stringContaining('exec: "curl": executable file not found') });
    expect(run(compose("--rm", "--no-deps", "api", "npx", "prisma", "migrate", "reset", "--force"))).toMatchObject({ code: 97, out: expect.stringContaining("got `npx prisma migrate reset --force`") });
    expect(run(["compose", "-p", "goodgo", "-f", "docker-compose.prod.yml", "exec", "-T", "api", ...MIGRATE])).toMatchObject({ code: 97 });
  });

  it("refuses a DATABASE_URL that names another database, and a database that does not answer", () => {
    const env = readFileSync(join(dir, ".env"), "utf8");
    try {
      writeFileSync(join(dir, ".env"), env.replace(/^(DATABASE_URL=.*)\/goodgo$/m, "$1/other"));
      expect(run(compose("--rm", "--no-deps", "api", ...MIGRATE))).toMatchObject({ code: 1, out: expect.stringContaining("DATABASE_URL names database other as goodgo, the postgres service runs goodgo for goodgo") });
    } finally {
      writeFileSync(join(dir, ".env"), env);
    }
    pg.sql("DROP DATABASE goodgo");
    try {
      expect(run(compose("--rm", "--no-deps", "api", ...MIGRATE))).toMatchObject({ code: 1, out: expect.stringContaining("goodgo does not answer as goodgo") });
    } finally {
      pg.sql("CREATE DATABASE goodgo OWNER goodgo");
    }
  });
});
