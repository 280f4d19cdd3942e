// Bunty's PostgreSQL on the host archives WAL through the same shared piece as GoodGo (lib/postgresPitr.ts):
//   - the staging plan (postgres.where: host) ships pgbackrest.conf, the archive settings in conf.d and the schedule as
//     systemd timers, and runs the setup after the role and database exist; prod's managed cluster gets none of it;
//   - the timers and services pass `systemd-analyze verify` (their consumer; it refuses a bad OnCalendar) and fire at
//     01:00 UTC, the full on Sunday and a differential on the other days;
//   - the rendered pgbackrest.conf and archive settings run on a real PostgreSQL with real pgBackRest (moved into a temp
//     dir by the drill harness, which changes only paths, port and user): a full backup, rows written after it, and a
//     restore to the latest point beside the live cluster that has them.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { bunty } from "../../../stacks/bunty";
import { renderPgBackRestSecretsConf } from "../../../renderers/pgbackrest";
import { buntyPitr } from "../../../stacks/bunty/pitr";
import { freePort } from "../../support/ports";
import { restoredSql, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack } from "../../support/stacks";
import { systemdUnits, timerWeekdays, verifyUnits } from "../../support/systemdUnits";

let prod: Plan;
let staging: Plan;
beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

const stagingPitr = () => buntyPitr(platformConfig(loadStackConfig(rawStack("staging"), { allowMissingSecrets: true }), bunty)!, "16")!;
const buntyFiles = (plan: Plan) => plan.files.filter((f) => f.platform === "bunty").map((f) => f.path);

describe("Bunty's PostgreSQL on the host: WAL archiving with pgBackRest", () => {
  it("staging ships the config, the archive settings and the timers, and sets them up after the database exists; prod (managed) does not", () => {
    const files = buntyFiles(staging);
    for (const f of [
      "/etc/pgbackrest/pgbackrest.conf",
      "/etc/postgresql/16/main/conf.d/lazarus-archive.conf",
      "/etc/systemd/system/lazarus-bunty-pitr-full.timer",
      "/etc/systemd/system/lazarus-bunty-pitr-diff.service",
    ]) expect(files).toContain(f);
    const setup = one(staging, T.command, "bunty-staging-pitr-setup");
    expect(setup.dependencies).toContain(one(staging, T.command, "bunty-staging-postgres-setup").urn);
    const text = String(setup.inputs.create);
    expect(text).toContain("apt-get install -y --no-install-recommends pgbackrest=2.50-1build2");
    // archiving put into effect by asking the server: a restart only while archive_mode is off (a setup that runs again
    // restarts nothing), and a full backup only into a repository without one
    expect(text).toContain("bash /opt/lazarus/scripts/backup/pitr-archive-apply.sh --service postgresql@16-main --port 5432 --socket-dir /var/run/postgresql");
    expect(text).not.toContain("systemctl restart");
    expect(text).toContain("backup-job.sh pitr-full -- --if-no-backup");
    expect(text).toContain("runuser -u postgres -- env PITR_STANZA=bunty");
    expect(text).toContain("systemctl enable --now lazarus-bunty-pitr-full.timer lazarus-bunty-pitr-diff.timer");
    // the app starts only once archiving is set up
    expect(one(staging, T.command, "bunty-staging-pm2-start").dependencies).toContain(setup.urn);
    expect(buntyFiles(prod).some((f) => f.includes("pgbackrest"))).toBe(false);
    expect(byType(prod, T.command).some((c) => c.name === "bunty-prod-pitr-setup")).toBe(false);
  });

  it("the archive settings name the rendered config and the stack's archive_timeout", () => {
    const pitr = stagingPitr();
    const archive = pitr.files["/etc/postgresql/16/main/conf.d/lazarus-archive.conf"]!;
    // staging's repository is the off-site bucket: the passphrase and the Spaces key come from the include directory
    expect(archive).toContain("archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=bunty archive-push %p'");
    expect(archive).toMatch(/^archive_mode = on$/m);
    expect(archive).toMatch(/^archive_timeout = 60s$/m);
    const conf = pitr.files["/etc/pgbackrest/pgbackrest.conf"]!;
    expect(conf).toMatch(/^pg1-path=\/var\/lib\/postgresql\/16\/main$/m);
    expect(conf).toMatch(/^repo1-retention-full=2$/m);
    expect(conf).toMatch(/^repo1-type=s3$/m);
    expect(conf).toMatch(/^repo1-s3-bucket=bunty-staging-backups$/m);
    expect(conf).toMatch(/^repo1-path=\/pgbackrest$/m);
    expect(conf).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
    expect(conf).not.toMatch(/cipher-pass|s3-key/);
  });
});

describe("the timers, checked by systemd-analyze", () => {
  it("pass systemd-analyze verify, and their calendars fire at 01:00 UTC: full on Sunday, differential Monday to Saturday", () => {
    const pitr = stagingPitr();
    const units = systemdUnits(pitr.files);
    expect(Object.keys(units).sort()).toEqual([
      "lazarus-bunty-pitr-diff.service",
      "lazarus-bunty-pitr-diff.timer",
      "lazarus-bunty-pitr-full.service",
      "lazarus-bunty-pitr-full.timer",
    ]);
    const verify = verifyUnits(units);
    expect(verify.status, verify.output).toBe(0);
    expect(timerWeekdays(units["lazarus-bunty-pitr-full.timer"]!)).toEqual(new Set(["Sun"]));
    expect(timerWeekdays(units["lazarus-bunty-pitr-diff.timer"]!)).toEqual(new Set(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]));
    expect(units["lazarus-bunty-pitr-diff.service"]).toContain(`ExecStart="/bin/bash" "/opt/lazarus/scripts/backup/backup-job.sh" "pitr-diff"`);
    expect(units["lazarus-bunty-pitr-diff.service"]).toMatch(/^User=postgres$/m);
  });

  it("systemd-analyze refuses a timer whose calendar is wrong (the check can fail)", () => {
    const timer = systemdUnits(stagingPitr().files)["lazarus-bunty-pitr-full.timer"]!;
    const verify = verifyUnits({ "broken.timer": timer.replace("01:00:00", "25:00:00") });
    expect(verify.status).not.toBe(0);
    expect(verify.output).toMatch(/Failed to parse calendar specification/);
  });
});

describe("the rendered files on a real PostgreSQL with real pgBackRest", () => {
  let c: PitrCluster;
  afterAll(() => c?.destroy());

  it("archive WAL, take a full backup and restore the latest point beside the live cluster", async () => {
    const pitr = stagingPitr();
    // The passphrase only in the include file, as declare ships it (BUNTY_PGBACKREST_SECRETS), never the environment.
    delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
    c = await startPitrCluster({
      stanza: "bunty",
      rendered: { pgbackrestConf: pitr.files["/etc/pgbackrest/pgbackrest.conf"]!, archiveConf: pitr.files["/etc/postgresql/16/main/conf.d/lazarus-archive.conf"]! },
      secretsConf: renderPgBackRestSecretsConf({ cipherPass: "bunty-test-cipher-pass", s3Key: "DO00TEST", s3KeySecret: "spaces-secret" }),
    });
    expect(c.pg.sql("show archive_timeout")).toBe("1min");
    c.pg.sql("create table ledger (id int primary key)");
    const full = c.script("pitr-backup.sh", ["--stanza", "bunty", "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    c.pg.sql("insert into ledger select generate_series(1, 300)");
    c.pg.sql("select pg_switch_wal()");
    const check = c.script("pitr-backup.sh", ["--stanza", "bunty", "--type", "incr"]); // its check waits for the segment
    expect(check.code, check.stderr).toBe(0);
    const port = await freePort();
    const r = c.script("pitr-restore.sh", ["--stanza", "bunty", "--target-dir", join(c.mkdir("restore"), "data"), "--port", String(port)]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(restoredSql(port, "select count(*) from ledger")).toBe("300");
    // the live cluster kept running beside it
    expect(c.pg.sql("select count(*) from ledger")).toBe("300");
  });
});
