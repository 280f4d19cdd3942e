// The physical drill's server follows GoodGo's RENDERED pgBackRest files as the postgres and pg-backup containers would:
// on a compose host, a recovery that changes the stanza (recovery.host: the recovered cluster archives to goodgo-<label>)
// rewrites pgbackrest.conf and the postgres service's command, and compose up recreates the container with the new
// archive_command; pg-backup's PITR_STANZA changes with them. fake-docker recreates nothing, so before every
// `compose exec` (test/engine/drillStack.ts wraps the exec stand-in with this file) the drill's server and config are
// brought to what the deploy directory's files say: pgbackrest.conf adapted to the drill's locations (toDrillLocation),
// archive_command from the compose file's postgres command (ALTER SYSTEM + reload: it is a reload setting, so the
// server keeps running where the container would restart), and pg-backup's PITR_STANZA printed for the exec's
// environment. What it cannot show: the container's restart itself, and the moment (the first exec after the data
// services' compose up, not the up).
// No vitest import here: the exec wrapper runs it with tsx outside the test runner.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { archiveSettingsFromServerArgs } from "../../lib/postgresPitr";
import { GOODGO_PITR_FILES } from "../../stacks/goodgo/pitr";
import { GOODGO_COMPOSE_FILE } from "../../stacks/goodgo/inventory";

/** Where the drill's server and pgBackRest are (what toDrillLocation moves), and where GoodGo's files are written. */
export interface DrillPitrLocation {
  deployDir: string;
  pg: { host: string; port: number; user: string; dataDir: string; socketDir: string };
  spool: string;
  log: string;
  lock: string;
  s3: { host: string; port: number; caFile: string };
  confFile: string;
  includeDir: string;
}

/**
 * GoodGo's rendered pgbackrest.conf with the drill's locations: the test server, temp dirs, the S3 stand-in. Every key
 * moved must be in the file, so a renderer change that drops one fails here instead of silently drilling on defaults.
 */
export function toDrillLocation(conf: string, at: DrillPitrLocation): string {
  const moved: Record<string, string> = {
    "pg1-path": at.pg.dataDir,
    "pg1-port": String(at.pg.port),
    "pg1-socket-path": at.pg.socketDir,
    "pg1-user": at.pg.user,
    "spool-path": at.spool,
    "log-path": at.log,
    "repo1-s3-endpoint": at.s3.host,
    "repo1-s3-uri-style": "path",
  };
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const line of conf.split("\n")) {
    const key = /^([a-z0-9-]+)=/.exec(line)?.[1];
    if (key === undefined || !(key in moved)) {
      lines.push(line);
      continue;
    }
    seen.add(key);
    lines.push(`${key}=${moved[key]}`);
    // pgBackRest's default lock path (/tmp/pgbackrest) is shared by every cluster on the machine.
    if (key === "log-path") lines.push(`lock-path=${at.lock}`);
    if (key === "repo1-s3-uri-style") lines.push(`repo1-storage-port=${at.s3.port}`, `repo1-storage-ca-file=${at.s3.caFile}`);
  }
  const missing = Object.keys(moved).filter((k) => !seen.has(k));
  if (missing.length) throw new Error(`GoodGo's rendered pgbackrest.conf has no ${missing.join(", ")}:\n${conf}`);
  return lines.join("\n");
}

/** The rendered archive_command with the drill's config file and include dir (as test/support/pgbackrest.ts adaptRenderedArchiveConf). */
export function drillArchiveCommand(rendered: string, at: Pick<DrillPitrLocation, "confFile" | "includeDir">): string {
  if (!/--config=\S+/.test(rendered)) throw new Error(`the rendered archive_command names no --config: ${rendered}`);
  return rendered.replace(/--config=\S+/, `--config=${at.confFile}`).replace(/--config-include-path=\S+/, `--config-include-path=${at.includeDir}`);
}

function psql(at: DrillPitrLocation, sql: string): string {
  const r = spawnSync("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", at.pg.host, "-p", String(at.pg.port), "-U", at.pg.user, "-d", "postgres", "-c", sql], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Brings the drill's config and server to the deploy directory's files; returns pg-backup's PITR_STANZA. */
export function followRenderedPitr(at: DrillPitrLocation): string {
  const compose = parse(readFileSync(join(at.deployDir, GOODGO_COMPOSE_FILE), "utf8")) as { services: Record<string, { command?: string[]; environment?: Record<string, string> }> };
  const stanza = compose.services["pg-backup"]?.environment?.PITR_STANZA;
  if (!stanza) throw new Error(`${GOODGO_COMPOSE_FILE}: pg-backup has no PITR_STANZA`);
  const conf = toDrillLocation(readFileSync(join(at.deployDir, GOODGO_PITR_FILES.pgbackrestConf), "utf8"), at);
  if (readFileSync(at.confFile, "utf8") !== conf) writeFileSync(at.confFile, conf);
  const archive = archiveSettingsFromServerArgs(compose.services.postgres?.command ?? []).archive_command;
  if (!archive) throw new Error(`${GOODGO_COMPOSE_FILE}: the postgres service's command sets no archive_command`);
  const want = drillArchiveCommand(archive, at);
  if (psql(at, "SHOW archive_command") !== want) {
    psql(at, `ALTER SYSTEM SET archive_command = '${want.replace(/'/g, "''")}'`);
    psql(at, "SELECT pg_reload_conf()");
  }
  return stanza;
}

if (require.main === module) {
  try {
    process.stdout.write(`${followRenderedPitr(JSON.parse(readFileSync(process.argv[2]!, "utf8")) as DrillPitrLocation)}\n`);
  } catch (e) {
    process.stderr.write(`drill: cannot follow GoodGo's rendered pgBackRest files: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
