// Every malformed lazarus:goodgo config fails the offline plan with exit code 2, its own precise message (file, key
// path, what was expected, an example) and nothing declared.
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { ConfigError } from "../../../config/errors";
import { loadStackConfig } from "../../../config/load";
import { dropletMemoryGb } from "../../../stacks/goodgo/config";
import { keepOnlyPlatforms, patchedProject, rawStack } from "../../support/stacks";

type Patch = (c: Record<string, any>) => void;
const gg = (c: Record<string, any>) => c["lazarus:goodgo"];

const cases: { name: string; stack?: string; patch: Patch; message: string | RegExp }[] = [
  { name: "host below 8 GB", patch: (c) => (gg(c).host.size = "s-2vcpu-4gb"), message: 'Pulumi.prod.yaml: lazarus:goodgo.host.size: "s-2vcpu-4gb" has less than the 8 GB RAM minimum of runbook 001 section 4.6' },
  { name: "CPU-optimized host below 8 GB", stack: "staging", patch: (c) => (gg(c).host.size = "c-2"), message: 'Pulumi.staging.yaml: lazarus:goodgo.host.size: "c-2" has less than the 8 GB RAM minimum' },
  { name: "size slug typo", patch: (c) => (gg(c).host.size = "s-8vcpu-16g"), message: 'lazarus:goodgo.host.size: "s-8vcpu-16g" is not a droplet size slug (example: s-2vcpu-4gb)' },
  { name: "image tag with a slash", patch: (c) => (gg(c).app.imageTag = "release/1"), message: 'lazarus:goodgo.app.imageTag: "release/1" is not a container image tag (example: v1.4.2)' },
  { name: "registry with a tag", patch: (c) => (gg(c).app.registryUrl = "ghcr.io/goodgo:latest"), message: 'lazarus:goodgo.app.registryUrl: "ghcr.io/goodgo:latest" is not a container image repository without tag' },
  { name: "unknown exposure", patch: (c) => (gg(c).app.exposure = "public"), message: 'lazarus:goodgo.app.exposure: "public" is not an exposure mode (example: nginx; one of nginx, direct)' },
  { name: "nginx without a TLS contact", patch: (c) => delete gg(c).tls, message: "lazarus:goodgo.tls: is missing: exposure nginx serves HTTPS with a certbot certificate" },
  { name: "domain not a FQDN", patch: (c) => (gg(c).app.domain = "goodgo"), message: 'lazarus:goodgo.app.domain: "goodgo" is not a fully qualified domain name' },
  { name: "API domain equal to the domain", patch: (c) => (gg(c).app.apiDomain = gg(c).app.domain), message: 'lazarus:goodgo.app.apiDomain: "goodgo.example.org" is the same as app.domain' },
  { name: "log rotation beyond the runbook's 3-5 files", patch: (c) => (gg(c).app.logMaxFile = 10), message: "lazarus:goodgo.app.logMaxFile: 10 is above 5 (the runbook keeps 3-5 files; example: 5)" },
  { name: "Grafana on a public port", patch: (c) => (gg(c).grafana = { port: 3001 }), message: "lazarus:goodgo.grafana.port: 3001 is a public port of the web, API or nginx; Grafana needs its own admin-only port (example: 3002)" },
  { name: "Grafana on a privileged port", patch: (c) => (gg(c).grafana = { port: 443 }), message: "lazarus:goodgo.grafana.port: 443 is a privileged port; Grafana listens on an unprivileged admin-only port (example: 3002)" },
  { name: "Prometheus retention", patch: (c) => (gg(c).monitoring.prometheusRetention = "30 days"), message: 'lazarus:goodgo.monitoring.prometheusRetention: "30 days" is not a retention duration (example: 30d)' },
  { name: "Slack channel without #", patch: (c) => (gg(c).monitoring.slackChannels.oncall = "sre-oncall"), message: 'lazarus:goodgo.monitoring.slackChannels.oncall: "sre-oncall" is not a Slack channel (example: "#sre-oncall")' },
  { name: "backup time", patch: (c) => (gg(c).backups.backupAt = "2am"), message: 'lazarus:goodgo.backups.backupAt: "2am" is not a time of day in UTC (HH:MM)' },
  { name: "retention days", patch: (c) => (gg(c).backups.retentionDays = 0), message: "lazarus:goodgo.backups.retentionDays: 0 is not a number of days between 1 and 365 for local backup retention (example: 7)" },
  { name: "compression level", patch: (c) => (gg(c).backups.compressLevel = 20), message: "lazarus:goodgo.backups.compressLevel: 20 is not a compression level: 0 (none), zstd 1-19, gzip 1-9 (example: 3)" },
  { name: "gzip level above 9", patch: (c) => Object.assign(gg(c).backups, { codec: "gzip", compressLevel: 12 }), message: "lazarus:goodgo.backups.compressLevel: 12 is not a gzip level (codec gzip takes 1-9, or 0 for none; example: 6)" },
  { name: "backup codec", patch: (c) => (gg(c).backups.codec = "lz4"), message: 'lazarus:goodgo.backups.codec: "lz4" is not a backup codec (expected "zstd" or "gzip"; example: zstd)' },
  { name: "bucket name", patch: (c) => (gg(c).backups.offsite.bucket = "GoodGo_Backups"), message: 'lazarus:goodgo.backups.offsite.bucket: "GoodGo_Backups" is not a Spaces bucket name' },
  { name: "Spaces region", patch: (c) => (gg(c).backups.offsite.region = "fra2"), message: 'lazarus:goodgo.backups.offsite.region: "fra2" is not a DigitalOcean Spaces region (example: fra1' },
  { name: "missing off-site bucket", patch: (c) => delete gg(c).backups.offsite, message: "lazarus:goodgo.backups.offsite: is required but missing (expected a mapping of keys to values)" },
  { name: "PITR repo path without a leading slash", patch: (c) => (gg(c).backups.pitr = { repoPath: "pgbackrest" }), message: 'Pulumi.prod.yaml: lazarus:goodgo.backups.pitr.repoPath: "pgbackrest" is not a bucket path starting with / and without a trailing / (example: /pgbackrest)' },
  { name: "PITR repo under the expiring prefix", patch: (c) => (gg(c).backups.pitr = { repoPath: "/postgres/pitr" }), message: 'Pulumi.prod.yaml: lazarus:goodgo.backups.pitr.repoPath: "/postgres/pitr" is under backups.offsite.prefix "postgres/", which the bucket\'s lifecycle rule expires after' },
  { name: "PITR full backups kept", patch: (c) => (gg(c).backups.pitr = { retentionFull: 0 }), message: "Pulumi.prod.yaml: lazarus:goodgo.backups.pitr.retentionFull: 0 is not a number of full backups 1-30 (example: 2)" },
  { name: "PITR archive timeout too long", patch: (c) => (gg(c).backups.pitr = { archiveTimeoutSeconds: 86400 }), message: "Pulumi.prod.yaml: lazarus:goodgo.backups.pitr.archiveTimeoutSeconds: 86400 is above 3600 seconds, an RPO of over an hour (example: 60)" },
  { name: "PITR archive timeout not whole", patch: (c) => (gg(c).backups.pitr = { archiveTimeoutSeconds: 2.5 }), message: "Pulumi.prod.yaml: lazarus:goodgo.backups.pitr.archiveTimeoutSeconds: 2.5 is not a whole number of seconds 10-3600 (example: 60)" },
  { name: "Redis maxmemory near the container limit", patch: (c) => (gg(c).redis.maxMemoryMb = 768), message: "lazarus:goodgo.redis.maxMemoryMb: 768 is above 700 MB, too close to the container's 768 MB limit (example: 512)" },
  { name: "VNPay URL over http", patch: (c) => (gg(c).app.vnpay.url = "http://pay.vnpay.vn"), message: 'lazarus:goodgo.app.vnpay.url: "http://pay.vnpay.vn" is not an https URL (example: https://pay.vnpay.vn/vpcpay.html)' },
  { name: "unknown key with a suggestion", patch: (c) => (gg(c).backups.retentionDay = 7), message: 'lazarus:goodgo.backups.retentionDay: unknown key "retentionDay" (did you mean "retentionDays"?)' },
  { name: "unknown operation", patch: (c) => (gg(c).operations = [{ id: "reboot-1", action: "reboot" }]), message: 'lazarus:goodgo.operations[0].action: "reboot" is not a GoodGo operation (actions: rolling-restart, restart-service' },
  { name: "restart of an unknown service", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "restart-1", action: "restart-service", service: "backend" }]), message: 'lazarus:goodgo.operations[0].service: "backend" is not a GoodGo service (one of api, web' },
  { name: "operation id used twice", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "reindex-1", action: "reindex-typesense" }, { id: "reindex-1", action: "reindex-typesense" }]), message: 'Pulumi.staging.yaml: lazarus:goodgo.operations[1].id: "reindex-1" is used twice' },
  { name: "rolling restart excluding an unknown service", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "rr-1", action: "rolling-restart", exclude: ["db"] }]), message: 'lazarus:goodgo.operations[0].exclude[0]: "db" is not a GoodGo service' },
  { name: "negative query age", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "kill-1", action: "terminate-long-queries", olderThanMinutes: -5 }]), message: "lazarus:goodgo.operations[0].olderThanMinutes: -5 is not a positive number of minutes (example: 5)" },
  { name: "backup kind", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "backup-1", action: "backup-now", kind: "wal" }]), message: 'lazarus:goodgo.operations[0].kind: "wal" is not a backup kind (one of dump, pitr-full, pitr-diff; example: pitr-full)' },
  { name: "pgBackRest backup kept local", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "backup-1", action: "backup-now", kind: "pitr-full", offsite: false }]), message: "lazarus:goodgo.operations[0].offsite: false applies to dumps only: a pitr-full backup goes to the pgBackRest repository, which is in the off-site bucket" },
  { name: "backup name", stack: "staging", patch: (c) => (gg(c).operations = [{ id: "verify-1", action: "verify-backup", backup: "../etc/passwd" }]), message: 'lazarus:goodgo.operations[0].backup: "../etc/passwd" is not a backup choice (example: latest, or a file name such as "goodgo_20261123T020000Z.dump.zst")' },
  { name: "flush on prod unconfirmed", patch: (c) => (gg(c).operations = [{ id: "flush-1", action: "flush-redis", confirm: "yes" }]), message: 'lazarus:goodgo.operations[0].confirm: "yes" is not the confirmation: FLUSHALL empties the cache and every session stored in Redis on stack prod; to proceed set it to "prod/goodgo/flush-redis"' },
  { name: "restore label", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "Nov 23", backup: "latest" } }), message: 'lazarus:goodgo.recovery.database.label: "Nov 23" is not a recovery label (example: 20261123)' },
  { name: "restore without a backup", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1" } }), message: "lazarus:goodgo.recovery.database: needs backup (a pg_dump backup), pointInTime (the pgBackRest repository) or swapIn (a copy an earlier restore made); example: {label: r1, pointInTime: \"2026-11-23T02:00:00Z\"}, {label: r1, backup: latest} or {label: r1, swapIn: goodgo_restore_20261201021500}" },
  { name: "swap-in of a name that is no restored copy", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo" } }), message: 'lazarus:goodgo.recovery.database.swapIn: "goodgo" is not a restored database\'s name (example: goodgo_restore_20261201021500, from the restore step\'s result)' },
  { name: "swap-in of another database's copy", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo_analytics_restore_20261201021500" } }), message: 'lazarus:goodgo.recovery.database.swapIn: "goodgo_analytics_restore_20261201021500" is not a restored copy of goodgo; name the database the restore step\'s result line gave (example: goodgo_restore_20261201021500)' },
  { name: "swap-in with a cutover", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo_restore_20261201021500", cutover: true } }), message: "lazarus:goodgo.recovery.database.cutover: cannot be combined with swapIn: swapIn cuts over to the copy an earlier run of this switch restored and you verified, cutover would restore or cut over again; pick one (example: {label: r1, swapIn: goodgo_restore_20261201021500})" },
  { name: "swap-in with a backup", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo_restore_20261201021500", backup: "latest" } }), message: "lazarus:goodgo.recovery.database.backup: cannot be combined with swapIn" },
  { name: "swap-in with a point in time", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo_restore_20261201021500", pointInTime: "latest" } }), message: "lazarus:goodgo.recovery.database.pointInTime: cannot be combined with swapIn" },
  { name: "swap-in on prod unconfirmed", patch: (c) => (gg(c).recovery = { database: { label: "r1", swapIn: "goodgo_restore_20261201021500" } }), message: 'lazarus:goodgo.recovery.database.confirm: is missing: swapping goodgo_restore_20261201021500 in ends the apps\' and PgBouncer\'s database sessions (they are stopped first) and makes the restored data live (the old database is kept as goodgo_pre_restore_<timestamp>) on stack prod; to proceed set it to "prod/goodgo/database-cutover"' },
  { name: "point in time without a zone", stack: "staging", patch: (c) => (gg(c).recovery = { database: { label: "r1", pointInTime: "2026-11-23 02:00:00" } }), message: 'lazarus:goodgo.recovery.database.pointInTime: "2026-11-23 02:00:00" is not a point in time (example: latest, or a UTC time such as "2026-11-23T02:00:00Z")' },
  { name: "pgBackRest full backup day", stack: "staging", patch: (c) => (gg(c).backups.pitr = { fullBackupWeekday: 7 }), message: "lazarus:goodgo.backups.pitr.fullBackupWeekday: 7 is not a day of the week 0-6 (0 = Sunday; example: 0)" },
  { name: "host recovery snapshot choice", stack: "staging", patch: (c) => (gg(c).recovery = { host: { label: "r1", fromSnapshot: "newest" } }), message: 'lazarus:goodgo.recovery.host.fromSnapshot: "newest" is not a snapshot choice (example: latest, or a snapshot id such as "187654321")' },
  { name: "host recovery on prod unconfirmed", patch: (c) => (gg(c).recovery = { host: { label: "r1" } }), message: 'lazarus:goodgo.recovery.host.confirm: is missing: full host recovery replaces the live droplet and restores the database from an off-site backup on stack prod; to proceed set it to "prod/goodgo/recover-host"' },
  { name: "host recovery with a database restore", stack: "staging", patch: (c) => (gg(c).recovery = { host: { label: "r1" }, database: { label: "r1", backup: "latest" } }), message: "lazarus:goodgo.recovery.database: cannot be combined with recovery.host" },
  { name: "rollback to the deployed tag", stack: "staging", patch: (c) => (gg(c).recovery = { rollback: { imageTag: "9d41b07" } }), message: 'lazarus:goodgo.recovery.rollback.imageTag: "9d41b07" is the tag already deployed (app.imageTag)' },
  { name: "GoodGo secret in plain text", patch: (c) => (c["lazarus:goodgoDbPassword"] = "hunter2"), message: "lazarus:goodgoDbPassword: is stored in plain text; it must be a secret. Remove it from the file and run: openssl rand -hex 32 | pulumi config set --secret --stack prod goodgoDbPassword" },
];

describe("a malformed lazarus:goodgo config", () => {
  it.each(cases)("fails with its own message and declares nothing: $name", async ({ stack = "prod", patch, message }) => {
    const dir = patchedProject(stack, patch);
    const r = await runPlanCli(["--stack", stack, "--project-dir", dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    if (typeof message === "string") expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
  });

  it("gives every case a distinct message", () => {
    expect(new Set(cases.map((c) => c.message)).size).toBe(cases.length);
  });

  it("lists every problem at once", async () => {
    const dir = patchedProject("prod", (c) => {
      gg(c).host.size = "s-1vcpu-2gb";
      gg(c).backups.offsite.region = "mars1";
      gg(c).app.exposure = "sideways";
    });
    const r = await runPlanCli(["--stack", "prod", "--project-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("3 problems");
  });
});

describe("the 8 GB minimum", () => {
  it("reads the memory from the size slug", () => {
    expect(dropletMemoryGb("s-4vcpu-8gb")).toBe(8);
    expect(dropletMemoryGb("s-8vcpu-16gb-intel")).toBe(16);
    expect(dropletMemoryGb("s-1vcpu-512mb-10gb")).toBe(0.5);
    expect(dropletMemoryGb("c-4")).toBe(8);
    expect(dropletMemoryGb("g-2vcpu-8gb")).toBe(8);
    expect(dropletMemoryGb("so1_5-2vcpu-16gb")).toBe(16);
    expect(dropletMemoryGb("huge")).toBeUndefined();
  });
});

describe("GoodGo's secrets for a real run", () => {
  it("are listed all at once, each with the command that sets it", () => {
    let error: unknown;
    try {
      loadStackConfig(rawStack("staging", { patch: (c) => keepOnlyPlatforms(c, ["goodgo"]) }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    expect(text).toContain("17 required secrets are not set");
    for (const line of [
      "pulumi config set --secret --stack staging goodgoSshPrivateKey < ~/.ssh/lazarus_goodgo_ed25519",
      "openssl rand -hex 32 | pulumi config set --secret --stack staging goodgoDbPassword",
      "pulumi config set --secret --stack staging goodgoSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
      "pulumi config set --secret --stack staging goodgoSpacesSecretKey < spaces-secret.txt",
      "openssl rand -hex 24 | pulumi config set --secret --stack staging goodgoPgbouncerAdminPassword",
      "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack staging goodgoPgbackrestCipherPass",
    ]) {
      expect(text).toContain(line);
    }
  });
});
