// Config blocks that several platforms reuse: a droplet host, a managed PostgreSQL cluster, and their recovery switches.
import { z } from "zod";
import { confirmationToken, isProtectedStack, requireConfirm, type Problem } from "./checks";
import { OTHER_UNION_SHAPE } from "./errors";
import {
  databaseSize,
  dropletSize,
  hostAddress,
  hourOfDay,
  imageSlug,
  isoTimestamp,
  npmVersion,
  percent,
  port,
  postgresVersion,
  unixUser,
  weekday,
} from "./primitives";

export const hostSchema = z.strictObject({
  size: dropletSize,
  image: imageSlug.default("ubuntu-24-04-x64"),
  /** DigitalOcean weekly droplet backups. */
  backups: z.boolean().default(true),
  /** The DigitalOcean metrics agent, needed by the CPU/memory/disk alerts. */
  monitoring: z.boolean().default(true),
  alerts: z
    .strictObject({
      cpuPercent: percent.default(85),
      memoryPercent: percent.default(90),
      diskPercent: percent.default(85),
      window: z.enum(["5m", "10m", "30m", "1h"], { message: "is not an alert window (example: 5m; one of 5m, 10m, 30m, 1h)" }).default("5m"),
    })
    .prefault({}),
  /**
   * On platforms that confirm resizes on prod (Bunty): `<stack>/<platform>/resize-to-<size>`, naming the size, so a
   * confirmation left in the file never approves a later, different size.
   */
  resizeConfirm: z.string().optional(),
});
export type HostConfig = z.infer<typeof hostSchema>;

/** A server that already exists (on-prem, or a DR target the operator has), reached over SSH; Lazarus declares no droplet. */
export const existingServerSchema = z.strictObject({
  address: hostAddress,
  /** root, like environment.sshUser: the host steps write root-owned files (root:root, /root/..., /etc/letsencrypt). */
  user: unixUser.default("root"),
  port: port.default(22),
});
export type ExistingServerConfig = z.infer<typeof existingServerSchema>;

type DropletKey = keyof typeof hostSchema.shape;
const DROPLET_KEYS = Object.keys(hostSchema.shape) as DropletKey[];
const mixedWithExisting = z
  .never({
    message: `is a droplet setting (one of ${DROPLET_KEYS.join(", ")}), but "existing" says the server already exists; remove it, or remove "existing" to declare a droplet`,
  })
  .optional();

/** `{ existing: {...} }`; a droplet key beside it is named as the mistake, not reported as an unknown key. */
export const existingHostSchema = z.strictObject({
  existing: existingServerSchema,
  ...(Object.fromEntries(DROPLET_KEYS.map((k) => [k, mixedWithExisting])) as Record<DropletKey, typeof mixedWithExisting>),
});
export type ExistingHostConfig = z.infer<typeof existingHostSchema>;

/**
 * Where a host-based platform runs: a droplet Lazarus declares (`droplet`: hostSchema or a platform's stricter
 * extension of it), or `{ existing: { address, user, port } }`. The "existing" key decides; each shape is then checked
 * alone, so errors name the key at fault instead of zod's "Invalid input" for a union (config/errors.ts reports the
 * issues of the one shape that applies).
 */
export function hostPlacement<D extends z.ZodType<HostConfig>>(droplet: D) {
  return z.union([
    z.custom<unknown>(hasExistingKey, { params: { [OTHER_UNION_SHAPE]: true } }).pipe(existingHostSchema),
    z.custom<unknown>((v) => !hasExistingKey(v), { params: { [OTHER_UNION_SHAPE]: true } }).pipe(droplet),
  ]);
}
export const hostPlacementSchema = hostPlacement(hostSchema);
export type HostPlacementConfig = z.infer<typeof hostPlacementSchema>;

function hasExistingKey(value: unknown): boolean {
  return value !== null && typeof value === "object" && "existing" in value;
}

export function isExistingHost(host: HostPlacementConfig): host is ExistingHostConfig {
  return "existing" in host;
}

export const maintenanceWindowSchema = z.strictObject({ day: weekday, hour: hourOfDay });

export const managedPostgresSchema = z.strictObject({
  version: postgresVersion,
  size: databaseSize,
  nodeCount: z
    .number({ message: "is not a node count (example: 2)" })
    .int({ message: "is not a whole number of nodes (example: 2)" })
    .min(1, { message: "is not a node count between 1 and 3 (example: 2)" })
    .max(3, { message: "is not a node count between 1 and 3 (example: 2)" }),
  maintenanceWindow: maintenanceWindowSchema,
  /** The application's database and user inside the cluster. */
  databaseName: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a database name (example: kro)" }),
  userName: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a database user name (example: kro)" }),
});
export type ManagedPostgresConfig = z.infer<typeof managedPostgresSchema>;

/**
 * Sizes DigitalOcean offers for a one-node cluster only, by engine (the API's `GET /v2/databases/options` layouts, as
 * in DigitalOcean's OpenAPI description, databases/responses/options.yml): a standby needs at least 2 GB.
 */
export const SINGLE_NODE_ONLY_SIZES: Record<"pg" | "valkey", readonly string[]> = { pg: ["db-s-1vcpu-1gb"], valkey: ["db-s-1vcpu-1gb"] };

/** The problem with a cluster's size and node count, if the API's layouts do not offer them together. */
export function clusterLayoutProblems(engine: "pg" | "valkey", c: { size: string; nodeCount: number }, path: string): Problem[] {
  if (c.nodeCount > 1 && SINGLE_NODE_ONLY_SIZES[engine].includes(c.size)) {
    return [{ path: `${path}.size`, message: `${c.size} is offered for one node only, but nodeCount is ${c.nodeCount} (example: db-s-1vcpu-2gb)` }];
  }
  return [];
}

/**
 * The image of a rebuilt droplet: a snapshot id, or "latest", the most recent snapshot whose name matches
 * snapshotNameRegex. "latest" is looked up again by every `pulumi up`, so protected stacks must name the id.
 */
export const snapshotChoice = z.string().refine((v) => v === "latest" || /^\d+$/.test(v), {
  message: 'is not a snapshot choice (example: latest, or a snapshot id such as "187654321")',
});

/**
 * Marks a rebuild as over: the switch stays as the record of the snapshot the droplet came from, and the droplet is
 * protected again, so no later `pulumi up` can replace it (nor re-run what is keyed on it).
 */
export const rebuildDone = z.boolean().default(false);

/** Rebuild the host from a snapshot instead of the base image. The reserved IP, firewall and database follow the new host. */
export const hostRebuildSchema = z.strictObject({
  fromSnapshot: snapshotChoice,
  /** Which snapshots "latest" chooses from; defaults to snapshots named after the host. */
  snapshotNameRegex: z.string().optional(),
  done: rebuildDone,
  /** On prod, must equal the value the error message names, because this replaces the live droplet. */
  confirm: z.string().optional(),
});
export type HostRebuildConfig = z.infer<typeof hostRebuildSchema>;

/**
 * The rules of a switch that replaces a platform's droplet (`recovery.host`): on a protected stack it names a snapshot
 * id and is confirmed; once `done`, it names the id and carries no confirmation, since the droplet is protected again.
 */
export function hostRebuildProblems(
  rebuild: { fromSnapshot?: string; done: boolean; confirm?: string },
  stack: string,
  platform: string,
  confirm: { what: string; why: string },
): Problem[] {
  const problems: Problem[] = [];
  if (rebuild.fromSnapshot === "latest" && (isProtectedStack(stack) || rebuild.done)) {
    problems.push({
      path: "recovery.host.fromSnapshot",
      message: `"latest" is looked up again by every pulumi up, so any later snapshot would replace the rebuilt droplet${rebuild.done ? "" : ` on stack ${stack}`}; write the id of the snapshot to rebuild from, as listed by doctl compute snapshot list --resource droplet --format ID,Name,CreatedAt (example: fromSnapshot: "187654321")`,
    });
  }
  if (!rebuild.done) return [...problems, ...requireConfirm(stack, platform, confirm.what, rebuild.confirm, "recovery.host.confirm", confirm.why)];
  if (rebuild.confirm !== undefined) {
    problems.push({
      path: "recovery.host.confirm",
      message: "is set, but done: true says the rebuild is over and the droplet is protected again; remove confirm (to rebuild once more, remove done and confirm the new rebuild)",
    });
  }
  return problems;
}

/** Restore a managed cluster from its backups into a NEW cluster beside the live one (DigitalOcean backupRestore). */
export const databaseRestoreSchema = z.strictObject({
  /** Names the restored cluster (`<platform>-<stack>-db-restore-<label>`), so a second restore gets a new cluster. */
  label: z.string().regex(/^[a-z0-9][a-z0-9-]{0,20}$/, { message: "is not a restore label (example: 20261123)" }),
  /** The cluster whose backup to restore; defaults to the live cluster of this platform. */
  sourceCluster: z.string().optional(),
  /** Point in time to restore to; the most recent backup when absent. */
  pointInTime: isoTimestamp.optional(),
  /**
   * Second switch: `true` points the application at the restored cluster once it is verified; `back` points it at the
   * live cluster again after a cutover (a cutover back: what was written since stays on the restored cluster). Both
   * clusters stay declared and protected either way; neither is replaced or deleted by these switches.
   */
  cutover: z
    .union([z.boolean(), z.literal("back")], { message: "is not a cutover (example: true; one of false, true, back)" })
    .default(false),
  /**
   * Unprotects the restored cluster, so that a later `pulumi up` without `recovery.database` deletes it. Never while the
   * application runs on it; on prod it is confirmed like a cutover.
   */
  discard: z.boolean().default(false),
  /** On prod, a cutover, a cutover back and a discard must each be confirmed with the value the error message names. */
  confirm: z.string().optional(),
});
export type DatabaseRestoreConfig = z.infer<typeof databaseRestoreSchema>;

/**
 * Each move of the application between clusters, and giving up the restored one, is confirmed on prod. `path` is the
 * switch's key (e.g. recovery.database); `what` names the database in the confirmations: `<what>-cutover`,
 * `<what>-cutover-back`, `discard-restored-<what>` (KRO: database-cutover, ...).
 */
export function databaseRestoreProblems(r: DatabaseRestoreConfig | undefined, stack: string, platform: string, o: { path: string; what: string } = { path: "recovery.database", what: "database" }): Problem[] {
  if (!r) return [];
  const confirm = (what: string, why: string) => requireConfirm(stack, platform, what, r.confirm, `${o.path}.confirm`, why);
  if (r.discard) {
    if (r.cutover === true) {
      return [{ path: `${o.path}.discard`, message: "the application runs on the restored cluster (cutover: true); cut back first (example: cutover: back)" }];
    }
    return confirm(`discard-restored-${o.what}`, `discarding lets the next pulumi up without ${o.path} delete the restored cluster and everything written to it`);
  }
  if (r.cutover === true) return confirm(`${o.what}-cutover`, "cutting over points the application at the restored cluster");
  if (r.cutover === "back") {
    return confirm(`${o.what}-cutover-back`, "cutting back points the application at the live cluster; what was written to the restored cluster since the cutover stays there");
  }
  // The cutover flipped back to false, its confirmation left in place: almost surely a revert that was not confirmed.
  if (isProtectedStack(stack) && r.confirm === confirmationToken(stack, platform, `${o.what}-cutover`)) {
    return [
      {
        path: `${o.path}.cutover`,
        message: `false, with the cutover's confirmation still set: if the application ran on the restored cluster, moving it back is a cutover back (example: cutover: back, confirm: "${confirmationToken(stack, platform, `${o.what}-cutover-back`)}"); if it never did, remove confirm`,
      },
    ];
  }
  return [];
}

/** The restore as the cluster component takes it: the application runs on the restored cluster only after `cutover: true`. */
export function restoreArgs(r: DatabaseRestoreConfig | undefined): { label: string; sourceCluster?: string; pointInTime?: string; cutover: boolean; discard: boolean } | undefined {
  if (!r) return undefined;
  return { label: r.label, sourceCluster: r.sourceCluster, pointInTime: r.pointInTime, cutover: r.cutover === true, discard: r.discard };
}

/** PM2 on a host (Bunty, Pencom): its pinned version and pm2-logrotate's settings (the runbooks' Log Rotation). */
export const pm2Schema = z
  .strictObject({
    version: npmVersion("pm2", "7.0.4").default("7.0.4"),
    logrotate: z
      .strictObject({
        version: npmVersion("pm2-logrotate", "3.0.0").default("3.0.0"),
        maxSize: z.string().regex(/^\d+[KMG]$/, { message: "is not a pm2-logrotate size (example: 10M)" }).default("10M"),
        retain: z.number().int().min(1, { message: "is not a number of rotated files to keep (example: 7)" }).default(7),
        compress: z.boolean().default(true),
      })
      .prefault({}),
  })
  .prefault({});
