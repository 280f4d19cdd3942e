// A drill's "empty data host back at the same address" for a test PostgreSQL (test/support/postgres.ts): what Docker
// does when the postgres container restarts on an empty volume (the image's entrypoint runs initdb, applies the
// configuration the compose file mounts, creates POSTGRES_DB, starts the server). The configuration is saved from the
// live server before the loss (postgresql.conf, pg_hba.conf: port, socket directory, authentication, and the archive
// settings when it archives WAL), as a compose host keeps it outside the volume; the data is not. `emptyDirs`: the
// image's own empty directories lost with the old container (pgBackRest's spool), made again owned by the server's OS
// user, as the image's Dockerfile makes them. Used by test/lib/dr/ and test/engine/dr-drill*.test.ts.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PG_BIN, type PostgresServer } from "./postgres";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes `<dir>/empty-postgres.sh` (and the saved configuration beside it); returns the script's path. */
export function emptyPostgresScript(pg: PostgresServer, dir: string, database: string, o: { emptyDirs?: string[] } = {}): string {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, "postgresql.conf");
  const hba = join(dir, "pg_hba.conf");
  copyFileSync(join(pg.dataDir, "postgresql.conf"), conf);
  copyFileSync(join(pg.dataDir, "pg_hba.conf"), hba);
  const as = process.getuid?.() === 0 ? "runuser -u postgres -- " : "";
  const script = join(dir, "empty-postgres.sh");
  writeFileSync(
    script,
    [
      "#!/bin/bash",
      "set -euo pipefail",
      `[[ ! -e ${q(pg.dataDir)} ]] || { echo "refusing: ${pg.dataDir} exists (an empty data host replaces a lost one only)" >&2; exit 73; }`,
      ...(o.emptyDirs ?? []).map((d) => `install -d -m 0750 ${as ? "-o postgres -g postgres " : ""}${q(d)}`),
      `${as}${q(join(PG_BIN, "initdb"))} -D ${q(pg.dataDir)} -U ${q(pg.user)} --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null`,
      `install -m 0600 ${as ? "-o postgres -g postgres " : ""}${q(conf)} ${q(hba)} ${q(pg.dataDir)}/`,
      `${as}${q(join(PG_BIN, "pg_ctl"))} -D ${q(pg.dataDir)} -l ${q(pg.logFile)} -w -t 60 start >/dev/null`,
      `PGHOST=${q(pg.host)} PGPORT=${pg.port} PGUSER=${q(pg.user)} createdb ${q(database)}`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return script;
}
