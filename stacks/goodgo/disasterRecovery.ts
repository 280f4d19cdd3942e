// GoodGo's full host loss (runbook 001 section 4.6): ONE switch, recovery.host: a new host (or the existing server back
// at its address), the data services first, the newest off-site backup restored and cut over, migrations, reindex,
// flush, the apps. Targets from the runbook's RPO/RTO Summary. And how `lazarus dr drill` drills it (GOODGO_DRILL):
// the data host lost, the database brought back through recovery.database (logical) or recovery.host (physical).
import { isExistingHost } from "../../config/shared";
import { HOUR, MINUTE, resultLine, type DisasterRecovery, type DrillAdapter } from "../disasterRecovery";
import { goodgoSchema, type GoodgoConfig } from "./config";
import { goodgoRecoveryStanza, goodgoStanza } from "./pitr";
import type { GoodgoPlan } from "./plan";

const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);

/** The block as the program reads it (defaults applied); the drill edits the stack file's plain YAML. */
function parsed(block: Record<string, any>): GoodgoConfig | undefined {
  const r = goodgoSchema.safeParse(block);
  return r.success ? r.data : undefined;
}

/** Where the physical route's repository is, as the stack file declares it: the off-site bucket under backups.pitr.repoPath. */
function pitrRepository(block: Record<string, any>): string {
  const cfg = parsed(block);
  return cfg ? `s3://${cfg.backups.offsite.bucket}${cfg.backups.pitr.repoPath}` : "the pgBackRest repository of backups.pitr";
}

/**
 * Runbook 001 §4.1 both ways (migrate: false: the drill restores the schema it backed up; migrations need the
 * application image):
 *   logical: backup-now (pg-backup.sh through the scheduled job's wrapper, local only), then `backup: <that file>`;
 *   physical: backup-now kind pitr-full (the scheduled pgBackRest job: a full backup into the repository in the
 *     off-site bucket, WAL archived continuously by the server), then recovery.host {backup: latest} onto the same
 *     server: the physical route (the backup plus the archived WAL replayed to its end in a scratch cluster, the
 *     database dumped from it, restored beside and cut over), reindex, flush, and the replaced server's own stanza
 *     with its first full backup (recovery.database would leave its archiving broken: its archive-check refuses it).
 */
export const GOODGO_DRILL: DrillAdapter = {
  configKey: "lazarus:goodgo",
  routes: {
    logical: {
      backupTitle: "goodgo's backup operation, backup-now (pg-backup.sh; the writer paused so the backup's boundary is exact)",
      pauseWriter: true,
      addBackup(block, label) {
        const id = `drill-backup-${label}`;
        block.operations = [...(block.operations ?? []), { id, action: "backup-now", offsite: false }];
        return `-op-${id}`;
      },
      backupScript: "pg-backup.sh",
      backupTaken(result) {
        const file = str(result?.file);
        if (!file) return "a pg-backup.sh result line naming its file";
        const name = file.split("/").pop()!;
        return { ref: name, describe: name };
      },
      setRecovery(block, label, backup) {
        block.recovery = { ...(block.recovery ?? {}), database: { label, backup, cutover: true, migrate: false } };
        return `recovery.database: {label: ${label}, backup: ${backup}, cutover: true}`;
      },
      switchName: "recovery.database",
      recoveryPrefix: (label) => `-restore-db-${label}-`,
      restored(stdoutOf, block) {
        const r = resultLine(stdoutOf("restore-database"), "pg-restore.sh");
        const backup = str(r?.backup);
        if (!backup) return undefined;
        const sha = str(r?.sha256);
        return { database: str(r?.database) ?? parsed(block)?.database.name ?? "goodgo", source: backup, route: "logical", ...(sha ? { checksum: `sha256:${sha}` } : {}) };
      },
      rtoRoute: "localBackup",
    },
    physical: {
      backupTitle: "goodgo's pgBackRest full backup, backup-now kind pitr-full (backup-job.sh pitr-full; the writer keeps writing, WAL archived)",
      pauseWriter: false,
      addBackup(block, label) {
        const id = `drill-pitr-full-${label}`;
        block.operations = [...(block.operations ?? []), { id, action: "backup-now", kind: "pitr-full" }];
        return `-op-${id}`;
      },
      backupScript: "pitr-backup.sh",
      backupTaken(result, block) {
        const label = str(result?.label);
        if (!label) return "a pitr-backup.sh result line naming the backup set";
        return { ref: label, describe: `pgBackRest ${str(result?.type) ?? "full"} backup ${label} of stanza ${str(result?.stanza) ?? "?"} in ${pitrRepository(block)} (WAL ${str(result?.wal_start) ?? "?"}..${str(result?.wal_stop) ?? "?"})` };
      },
      // The data host came back EMPTY: a new database system, whose WAL pgBackRest refuses for the lost cluster's
      // stanza (recovery.database's archive-check refuses it for that reason). recovery.host onto the same server is
      // the switch for that: the route (physical: the repository has the drill's backup), the restore and cutover, and
      // the recovered cluster's own stanza goodgo-<label> with its first full backup, so it archives again.
      setRecovery(block, label) {
        block.recovery = { ...(block.recovery ?? {}), host: { label, backup: "latest", migrate: false } };
        return `recovery.host: {label: ${label}, backup: latest} (the recovered cluster archives to its own stanza goodgo-${label})`;
      },
      switchName: "recovery.host",
      recoveryPrefix: (label) => `-recover-host-${label}-`,
      restored(stdoutOf, block) {
        const pitr = resultLine(stdoutOf("pitr-restore"), "pitr-restore.sh");
        const backupLabel = str(pitr?.backup_label);
        if (!backupLabel) return undefined;
        const restore = resultLine(stdoutOf("restore-database"), "pg-restore.sh");
        const cfg = parsed(block);
        const stanza = str(pitr?.stanza) ?? (cfg ? goodgoRecoveryStanza(cfg) : "goodgo");
        const repository = pitrRepository(block);
        const until = str(pitr?.recovered_until);
        const sha = str(restore?.sha256) ?? str(pitr?.dump_sha256);
        return {
          database: str(restore?.database) ?? cfg?.database.name ?? "goodgo",
          source: `pgBackRest backup ${backupLabel} (stanza ${stanza}, ${repository}) + archived WAL to the latest point${until ? ` (last transaction replayed: ${until})` : ""}`,
          route: "physical",
          backupLabel,
          repository,
          stanza,
          ...(until ? { recoveredUntil: until } : {}),
          // The database came back through a dump of the recovered cluster: its checksum, as pg-restore.sh verified it.
          ...(sha ? { checksum: `sha256:${sha}` } : {}),
        };
      },
      // The repository is in the off-site bucket: runbook 001's off-site figure.
      rtoRoute: "offsiteBackup",
      notes(block) {
        const cfg = parsed(block);
        if (!cfg) return [];
        return [
          `physical route: WAL is shipped at least every backups.pitr.archiveTimeoutSeconds = ${cfg.backups.pitr.archiveTimeoutSeconds} s (archive_timeout), which bounds the RPO on a writing server (plus the segment in flight at the loss)`,
          ...(cfg.recovery.host
            ? [`archiving after the recovery: the recovered cluster (a new database system) archives to its own stanza ${goodgoStanza(cfg)}, which pitr-first-full created with its first full backup; stanza ${goodgoRecoveryStanza(cfg)} stays readable for restores to a time before the loss`]
            : []),
        ];
      },
    },
  },
};

export const goodgoDisasterRecovery: DisasterRecovery<GoodgoConfig, GoodgoPlan> = {
  loss: "the host and its volumes are gone: recovery.host brings up the data services on a new droplet (or the existing server back at its address), restores the newest off-site backup (pgBackRest to the latest archived WAL when the repository has one, else the newest dump), cuts over, migrates, reindexes, flushes Redis and starts the apps",
  targets: {
    rtoSeconds: 1 * HOUR,
    rpoSeconds: 24 * HOUR,
    rtoByRoute: { localBackup: 15 * MINUTE, offsiteBackup: 30 * MINUTE, fullHost: 1 * HOUR },
    source: "runbook 001 §RPO/RTO Summary: RPO ≤ 24 hours; RTO ≤ 15 minutes from a local backup, ≤ 30 minutes off-site, ≤ 60 minutes full host recovery",
  },
  rebuild(cfg, { stack, label, snapshot }) {
    const existing = isExistingHost(cfg.host);
    if (existing && snapshot) return { problem: "--snapshot: GoodGo runs on an existing server here; a snapshot builds a new droplet (remove --snapshot)" };
    return {
      recovery: { host: { label, backup: "latest", ...(snapshot ? { fromSnapshot: snapshot } : {}) } },
      confirm: { switch: "host", what: "recover-host" },
      refresh: true,
      ...(existing
        ? {
            rerun: {
              namePrefixes: [`goodgo-${stack}-software-`, `goodgo-${stack}-prepare`, `goodgo-${stack}-tls-bootstrap`],
              why: "the server is the same address, so its file writers and prepare would not run again by themselves",
            },
          }
        : {}),
      afterwards: existing
        ? `leave recovery.host (label ${label} and confirm) as it is: each step ran once for this label and no later up runs it again; a new label runs the whole recovery again`
        : "add `done: true` to recovery.host (and remove its `confirm`) and run `pulumi up`: the droplet is protected again and nothing of the chain runs again",
    };
  },
  steps(plan) {
    const chain = plan.recoveryChains.find((c) => c.label.startsWith("recover-host-"));
    const existing = isExistingHost(plan.config.host);
    return [
      existing
        ? { key: "host", title: `the existing server ${plan.host.name} (back at its address): files under ${plan.config.app.deployDir} written again` }
        : { key: "host", title: `new droplet ${plan.host.name}, reserved IP and firewall moved to it, files under ${plan.config.app.deployDir}` },
      ...(chain?.steps ?? []).map((s) => ({ key: s.key, title: (s as { what?: string }).what ?? s.key })),
      { key: "compose-up", title: "compose up --wait: every service" },
      { key: "health", title: `wait until ${plan.outputs.healthUrl} answers 2xx` },
    ];
  },
  healthUrl: (plan) => plan.outputs.healthUrl,
  drill: GOODGO_DRILL,
};
