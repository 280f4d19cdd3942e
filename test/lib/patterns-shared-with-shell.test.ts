// The domain, certificate-name and email patterns live once in TypeScript (lib/patterns.ts); the host scripts carry
// their own copies (scripts/ops/lib-cert.sh) because bash cannot import them. Both are run here on the same values, and
// the shell's copy is sourced from the real file, so an edit to either side that changes what it accepts fails.
// Likewise the names pg-restore.sh gives a restored copy (<first 40 characters of the database>_restore_<14 digits>) and
// the rollback point (<first 36>_pre_restore_<14 digits>): once in config/swapIn.ts (what a swapIn setting may name),
// once in scripts/backup/lib-pg.sh (what pg-restore.sh names and accepts). The script's own --swap-in check runs here
// (before it connects: 64 for a refused name), and a restore and a swap-in of a database with a 63-character name run
// against a real PostgreSQL 15, whose names the TypeScript side must then accept and predict.
import { mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRestoredCopyOf, restoredCopyPrefix, rollbackName, swapInProblems, swapInSchema } from "../../config/swapIn";
import { CERT_NAME, DOMAIN_NAME, EMAIL_ADDRESS } from "../../lib/patterns";
import { runScript } from "../support/pgHarness";
import { startPostgres, type PostgresServer } from "../support/postgres";
import { PROJECT_DIR } from "../support/stacks";

const LIB_CERT = join(PROJECT_DIR, "scripts/ops/lib-cert.sh");

/** Which of `values` bash's `[[ v =~ $VAR ]]` accepts, with VAR as lib-cert.sh defines it. */
function shellAccepts(variable: string, values: string[]): boolean[] {
  const script = `source ${JSON.stringify(LIB_CERT)}; for v in "$@"; do if [[ "$v" =~ $${variable} ]]; then echo 1; else echo 0; fi; done`;
  const r = spawnSync("bash", ["-c", script, "bash", ...values], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => l === "1");
}

const CASES: Array<[string, RegExp, string, string[]]> = [
  [
    "domain names",
    DOMAIN_NAME,
    "CERT_DOMAIN_RE",
    ["kro.example.org", "a.b", "xn--bcher-kva.example", "a-b.c-d.example", "localhost", "Kro.example.org", "-a.example.org", "a-.example.org",
      "a..b", "a b.example", "kro.example.org.", `${"a".repeat(63)}.example`, `${"a".repeat(64)}.example`, "x.123", "kro_example.org", ""],
  ],
  ["certificate names", CERT_NAME, "CERT_NAME_RE", ["kro-prod", "kro.example.org", "A_1", "-kro", ".kro", "kro prod", "kro/prod", ""]],
  [
    "email addresses",
    EMAIL_ADDRESS,
    "CERT_EMAIL_RE",
    ["ops@example.org", "a+b@c.d", "ops@example", "@example.org", "ops@@example.org", "ops @example.org", "ops@example.org\t", "ops@exa mple.org", ""],
  ],
];

describe("patterns shared by TypeScript and the host scripts", () => {
  it.each(CASES)("%s: the shell accepts exactly what TypeScript accepts", (_what, re, variable, values) => {
    const ts = values.map((v) => re.test(v));
    expect(ts.some((a) => a) && ts.some((a) => !a), "the corpus has both accepted and refused values").toBe(true);
    expect(shellAccepts(variable, values)).toEqual(ts);
  });
});

const LIB_PG = join(PROJECT_DIR, "scripts/backup/lib-pg.sh");
const STAMP = "20261201021500";
/** 63 characters, PostgreSQL's longest name: both rules cut it. */
const LONGEST = "ledger_entries_archive_of_the_consolidated_holding_group_2026_x";

/** lib-pg.sh's function FN run on each argument list; its output, or "yes"/"no" for a test. */
function shellNaming(fn: string, argLists: string[][]): string[] {
  const script = `source ${JSON.stringify(LIB_PG)}; while IFS=$'\\t' read -r a b; do if [[ ${fn} == is_* ]]; then if ${fn} "$a" "$b"; then echo yes; else echo no; fi; else echo "$(${fn} "$a" "$b")"; fi; done`;
  const r = spawnSync("bash", ["-c", script], { input: argLists.map((a) => `${a.join("\t")}\n`).join(""), encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split("\n").slice(0, argLists.length);
}

/** What config/swapIn.ts accepts as the swapIn of `database`: the schema and the problems' copy check. */
function tsAccepts(database: string, name: string): boolean {
  const schema = swapInSchema("x_restore_20261201021500").safeParse(name).success;
  const problems = swapInProblems({ stack: "staging", platform: "p", path: "recovery.database", database, swapIn: name, confirm: undefined, confirmWhat: "database-cutover", ends: "sessions", alongside: {} });
  return schema && !problems.some((p) => p.path.endsWith(".swapIn"));
}

describe("the restored copy's and the rollback point's names: pg-restore.sh and config/swapIn.ts", () => {
  const databases = [LONGEST, "goodgo", "a".repeat(40), "b".repeat(41), "c".repeat(36), "d".repeat(37), "x_pre"];
  // for each database: its copy (accepted) and names one rule or the other could let through (refused)
  const candidates = (db: string): string[] => [
    `${restoredCopyPrefix(db)}${STAMP}`,
    `${db.slice(0, 41)}_restore_${STAMP}`,
    `${db.slice(0, 39)}_restore_${STAMP}`,
    `${restoredCopyPrefix(db)}${STAMP.slice(0, 13)}`,
    `${restoredCopyPrefix(db)}${STAMP}0`,
    `${restoredCopyPrefix(db)}2026120102150a`,
    `${restoredCopyPrefix(db)}x_restore_${STAMP}`,
    rollbackName(db, STAMP),
    `other_restore_${STAMP}`,
  ];

  it("the same names from both sides: the copy's prefix and the rollback point", () => {
    expect(shellNaming("restored_copy_prefix", databases.map((d) => [d]))).toEqual(databases.map(restoredCopyPrefix));
    expect(shellNaming("rollback_name", databases.map((d) => [d, STAMP]))).toEqual(databases.map((d) => rollbackName(d, STAMP)));
    expect(`${restoredCopyPrefix(LONGEST)}${STAMP}`.length).toBe(63);
    expect(rollbackName(LONGEST, STAMP).length).toBe(63);
  });

  it("lib-pg.sh's is_restored_copy_of and config/swapIn.ts take exactly the same names as a database's copy", () => {
    const pairs = databases.flatMap((db) => candidates(db).map((name) => [db, name]));
    const ts = pairs.map(([db, name]) => (isRestoredCopyOf(db!, name!) ? "yes" : "no"));
    expect(ts.filter((a) => a === "yes").length, "the corpus has both accepted and refused names").toBeGreaterThan(0);
    expect(shellNaming("is_restored_copy_of", pairs)).toEqual(ts);
  });

  it("pg-restore.sh --swap-in refuses (64, before connecting) exactly the names config/swapIn.ts refuses", () => {
    for (const db of databases) {
      for (const name of candidates(db)) {
        // no server at this address: a name the script accepts gets as far as connecting (69)
        const r = spawnSync(join(PROJECT_DIR, "scripts/backup/pg-restore.sh"), ["--swap-in", name, "-d", db], {
          env: { PATH: process.env.PATH, PGHOST: "127.0.0.1", PGPORT: "1", PGCONNECT_TIMEOUT: "2" },
          encoding: "utf8",
        });
        const accepted = r.status !== 64;
        expect([db, name, accepted], r.stdout + r.stderr).toEqual([db, name, tsAccepts(db, name)]);
        if (accepted) expect(r.status, r.stdout).toBe(69);
      }
    }
  });

  describe("against a real PostgreSQL 15, a database with a 63-character name", () => {
    let pg: PostgresServer;
    let dir: string;
    beforeAll(async () => {
      pg = await startPostgres();
      dir = mkdtempSync(join(tmpdir(), "lazarus-restore-names-"));
      pg.sql(`CREATE DATABASE "${LONGEST}"`);
      pg.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)", LONGEST);
    }, 60_000);
    afterAll(() => {
      pg?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("the copy pg-restore.sh makes is one config/swapIn.ts accepts, and the swap keeps the rollback point rollbackName gives", () => {
      const backup = runScript(pg, "pg-backup.sh", ["-d", LONGEST, "-o", dir]);
      expect(backup.code, backup.stderr).toBe(0);
      const restore = runScript(pg, "pg-restore.sh", ["-d", LONGEST, dir]);
      expect(restore.code, restore.stderr).toBe(0);
      const copy = String(restore.result!.restored_database);
      expect(copy).toMatch(new RegExp(`^${restoredCopyPrefix(LONGEST)}[0-9]{14}$`));
      expect(tsAccepts(LONGEST, copy)).toBe(true);
      expect(tsAccepts("goodgo", copy)).toBe(false);

      const swap = runScript(pg, "pg-restore.sh", ["--swap-in", copy, "-d", LONGEST]);
      expect(swap.code, swap.stderr).toBe(0);
      const previous = String(swap.result!.previous_database);
      expect(previous).toBe(rollbackName(LONGEST, previous.slice(-14)));
      expect(pg.sql(`SELECT count(*) FROM pg_database WHERE datname IN ('${LONGEST}', '${previous}')`)).toBe("2");
      // the swap's confirmation message names that rollback point and says the name is cut
      const [confirm] = swapInProblems({ stack: "prod", platform: "p", path: "recovery.database", database: LONGEST, swapIn: copy, confirm: undefined, confirmWhat: "database-cutover", ends: "sessions", alongside: {} });
      expect(confirm!.message).toContain(`the old database is kept as ${rollbackName(LONGEST)}: the name's first 36 characters`);
    }, 120_000);
  });
});
