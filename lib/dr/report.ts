// What a DR run (`lazarus dr rebuild` or `lazarus dr drill`) reports: one timeline of steps, the recovery objectives
// measured against the runbooks' targets, and what was restored from which backup. The CLI renders it as JSON (this shape)
// and Markdown (with a Mermaid gantt of the timeline); `lazarus dr plan` reads the last drill's step times back from it.

/** One step of the timeline, as the operator saw it. Times are ISO 8601 (UTC). */
export interface DrStep {
  /** Stable key, e.g. "goodgo/recovery.host/restore-database" or "drill/lose-data-host". */
  key: string;
  platform?: string;
  title: string;
  startedAt: string;
  endedAt?: string;
  status: "ok" | "failed" | "skipped" | "running";
  /** On failure: what went wrong and what to do next. */
  detail?: string;
}

/** A backup a step restored from: where it was and its checksum, as the restore script reported it. */
export interface RestoredBackup {
  platform: string;
  database: string;
  /** The backup file or pgBackRest label/time restored. */
  source: string;
  /** e.g. "sha256:…": of the dump restored (logical: the backup itself; physical: the recovered cluster's dump). */
  checksum?: string;
  route: "logical" | "physical";
  /** Physical: the pgBackRest backup set restored, its repository and stanza, and the last transaction replayed. */
  backupLabel?: string;
  repository?: string;
  stanza?: string;
  recoveredUntil?: string;
}

/** The recovery objectives: measured, and the runbook's target (absent when the runbook states none). */
export interface Objectives {
  platform: string;
  /** Loss → healthy, in seconds. */
  rtoSeconds?: number;
  rtoTargetSeconds?: number;
  /** Last write committed before the loss vs the last write present after, in seconds (and rows when counted). */
  rpoSeconds?: number;
  rpoRows?: number;
  rpoTargetSeconds?: number;
  /** Where the targets come from, e.g. "runbook 001 §RPO/RTO Summary". */
  targetSource?: string;
}

export interface DrReport {
  kind: "rebuild" | "drill";
  stack: string;
  platforms: string[];
  startedAt: string;
  endedAt?: string;
  outcome: "ok" | "failed" | "refused";
  steps: DrStep[];
  objectives: Objectives[];
  restored: RestoredBackup[];
  /** Free-form facts worth keeping (the writer's row counts, the preview's change summary). */
  notes: string[];
  /** A drill's writer, from its own acknowledged log (what RPO is measured against). */
  writer?: DrillWriterLog;
  /** A drill's route: logical (a dump restored) or physical (a pgBackRest backup and the archived WAL). */
  route?: "logical" | "physical";
  /** The backup the drill took, as its script named it (a dump file; a pgBackRest backup set and its repository). */
  backup?: string;
}

/** What the drill's writer saw: acknowledged inserts counted from its own log, and the loss as the drill proved it. */
export interface DrillWriterLog {
  /** Inserts the server acknowledged before the loss. */
  ackedBeforeLoss: number;
  /** Of those, acknowledged before the backup ended (logical: the writer pauses while it runs, so exactly its content). */
  ackedAtBackup: number;
  /** The first and last id the writer inserted in this drill. */
  firstId: number;
  lastId: number;
  lastAckedAt?: string;
  lostAt?: string;
  /** The proof of the loss: the data directory was gone and the server refused connections right after the kill. */
  dataDirGone?: boolean;
  /** More of the host's disk the drill lost (the drill file's dataHost.alsoLost), and whether all of it was gone. */
  alsoLost?: string[];
  alsoLostGone?: boolean;
  refusedAfterLoss?: string;
  healthyAt?: string;
}
