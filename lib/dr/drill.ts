// `lazarus dr drill`'s core: on a scratch copy of a stack (a local project with a file state backend whose host is one
// the drill may break, never prod), lose the data host on purpose and bring it back through the stack's own recovery
// switch under the real engine, measuring RTO and RPO with a writer running throughout:
//   baseline up → writer starts (acknowledged inserts, timestamped) → the platform's backup operation → more writes →
//   kill -9 of PostgreSQL, its data directory removed and whatever else the drill file says the host loses (L; the loss
//   proved: the paths gone, connections refused) → the empty data host back (what Docker does for a container whose
//   volume is empty) → the recovery switch set in the stack file → up → the first write acknowledged by the recovered
//   database (H). RTO = H − L; RPO = acknowledged writes absent afterwards (rows, and seconds of writes).
// Two routes (the drill file's `route`, or --route): logical, a dump restored (the writer pauses for the backup, so its
// boundary is exact, and everything after it is lost), and physical, a pgBackRest backup plus the WAL archived while the
// writer kept going, replayed to the latest point (seconds are lost). What a platform does on each route (its backup
// operation, its switch, where its scripts report) is its drill adapter, stacks/<platform>/disasterRecovery.ts `drill`;
// this file knows no platform.
// Each phase is a DrStep (onStep: the CLI's progress) and the recovery up's own resources are steps too, so a failure
// names the command that failed. The scratch copy is described by lazarus-drill.yaml in its project directory
// (DRILL_FILE below); nothing here knows about tests.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { isProtectedStack } from "../../config/checks";
import { DRILL_ROUTES, resultLine, type DrillAdapter, type DrillRoute, type DrillRouteAdapter } from "../../stacks/disasterRecovery";
import { PLATFORMS } from "../../stacks/registry";
import { EngineStack, engineErrors, type EngineEvent } from "../engine/driver";
import { loseDataHost, serverAnswers, type Loss } from "./loss";
import { measureRpo, objectives, verdict, type RpoMeasure } from "./measure";
import type { DrReport, DrStep } from "./report";
import { recoveryTargets } from "./targets";
import { AckedWriter, createDrillTable, DRILL_TABLE, HEALTH_ID_FLOOR, idsPresent, nextDrillId, type Ack } from "./writer";

/** The file in the scratch project that makes it a drill target and says where its data host is. */
export const DRILL_FILE = "lazarus-drill.yaml";

const EXAMPLE = `stack: staging
backendDir: /tmp/lazarus-state-abc          # the scratch stack's file state backend
passphraseFile: /tmp/drill/passphrase       # or PULUMI_CONFIG_PASSPHRASE in the environment
route: logical                              # or physical: pgBackRest backup + archived WAL to the latest point
dataHost:
  postgres: { host: 127.0.0.1, port: 25432, user: postgres, database: goodgo, dataDir: /tmp/pg/data }
  alsoLost: [/tmp/drill/pgbackrest-spool]   # more of the host's disk lost with it (optional)
  replace: [/tmp/drill/empty-postgres.sh]   # brings an empty PostgreSQL back at the same address`;

const drillRoute = z.enum(DRILL_ROUTES, { message: `is not a drill route (one of ${DRILL_ROUTES.join(", ")}; example: route: physical)` });

const drillFileSchema = z.strictObject({
  /** Must equal the stack drilled: a file copied into another project does not make that one a target. */
  stack: z.string().min(1),
  backendDir: z.string().min(1),
  passphraseFile: z.string().min(1).optional(),
  /** logical (a dump) or physical (pgBackRest + WAL); --route overrides it. */
  route: drillRoute.default("logical"),
  dataHost: z.strictObject({
    postgres: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      user: z.string().min(1),
      database: z.string().min(1),
      passfile: z.string().min(1).optional(),
      /** The running server's data directory: the drill kills its postmaster and removes it. */
      dataDir: z.string().min(1),
    }),
    /** Absolute paths on the data host lost with it (e.g. pgBackRest's spool); removed right after the data directory. */
    alsoLost: z.array(z.string().regex(/^\/./, { message: "is not an absolute path (example: /var/spool/pgbackrest)" })).default([]),
    /** argv run after the loss: an empty PostgreSQL at the same address (on a compose host: the container restarted on its empty volume). */
    replace: z.array(z.string().min(1)).min(1),
  }),
  writer: z
    .strictObject({
      rowsBeforeBackup: z.number().int().min(1).default(200),
      rowsAfterBackup: z.number().int().min(1).default(100),
      /** A pause after each acknowledged write (a steady trickle); 0: as fast as round trips go. */
      everyMs: z.number().int().min(0).max(10_000).default(0),
    })
    .default({ rowsBeforeBackup: 200, rowsAfterBackup: 100, everyMs: 0 }),
});
export type DrillFile = z.infer<typeof drillFileSchema>;

/** A bad or missing drill file, before anything is touched: the file, the key, what was expected, an example. */
export class DrillTargetError extends Error {}

export function readDrillFile(workDir: string, stack: string): DrillFile {
  const file = join(workDir, DRILL_FILE);
  if (!existsSync(file)) throw new DrillTargetError(`${file} is missing: a drill runs only on a scratch copy that says where its data host is; write it, for example:\n${EXAMPLE}`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DrillTargetError(`${file}: not YAML (${(e as Error).message}); example:\n${EXAMPLE}`);
  }
  const r = drillFileSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new DrillTargetError(`${file}: ${issues}; example:\n${EXAMPLE}`);
  }
  if (r.data.stack !== stack) throw new DrillTargetError(`${file}: stack is "${r.data.stack}" but the drill was asked for stack "${stack}"; the file must name the stack it describes (example: stack: ${stack})`);
  return r.data;
}

/** The drill adapters of the registry's platforms (stacks/<platform>/disasterRecovery.ts `drill`). */
function drillAdapters(): Record<string, DrillAdapter> {
  return Object.fromEntries(PLATFORMS.flatMap((p) => (p.disasterRecovery?.drill ? [[p.name, p.disasterRecovery.drill]] : [])));
}

/** A resource's outputs from the engine's events, by the end of its name. */
function outputsOf(events: EngineEvent[], nameEnd: string): Record<string, any> | undefined {
  for (const e of [...events].reverse()) {
    const m = e.resOutputsEvent?.metadata;
    if (m && m.urn.endsWith(nameEnd)) return (m.new?.outputs ?? {}) as Record<string, any>;
  }
  return undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function runDrill(opts: { stack: string; platform?: string; workDir?: string; route?: DrillRoute; onStep?: (s: DrStep) => void }): Promise<DrReport> {
  const platform = opts.platform ?? "goodgo";
  const workDir = opts.workDir ?? process.cwd();
  const report: DrReport = { kind: "drill", stack: opts.stack, platforms: [platform], startedAt: iso(Date.now()), outcome: "ok", steps: [], objectives: [], restored: [], notes: [] };
  const emit = (s: DrStep) => opts.onStep?.({ ...s });
  const begin = (key: string, title: string, stepPlatform?: string): DrStep => {
    const s: DrStep = { key, title, startedAt: iso(Date.now()), status: "running", ...(stepPlatform ? { platform: stepPlatform } : {}) };
    report.steps.push(s);
    emit(s);
    return s;
  };
  const end = (s: DrStep, status: DrStep["status"], detail?: string) => {
    s.status = status;
    s.endedAt = iso(Date.now());
    if (detail) s.detail = detail;
    emit(s);
  };
  /** One phase: its step, ok when `fn` returns, failed (with the error as detail) when it throws; the error goes on. */
  const phase = async <T>(key: string, title: string, fn: (s: DrStep) => Promise<T> | T): Promise<T> => {
    const s = begin(key, title, platform);
    try {
      const v = await fn(s);
      end(s, "ok", s.detail);
      return v;
    } catch (e) {
      end(s, "failed", (e as Error).message);
      throw e;
    }
  };
  const finish = (outcome: DrReport["outcome"]) => {
    report.outcome = outcome;
    report.endedAt = iso(Date.now());
    return report;
  };

  // Refusals first: nothing is touched for a protected stack, an unknown platform or route, or a bad drill file.
  let target: DrillFile;
  let adapter: DrillAdapter;
  let way: DrillRouteAdapter;
  let route: DrillRoute;
  let passphrase: string;
  try {
    await phase("drill/check-target", `check that ${opts.stack} in ${workDir} is a drill target`, (s) => {
      if (isProtectedStack(opts.stack)) throw new DrillTargetError(`stack "${opts.stack}" is protected: a drill loses its data host on purpose and runs only on a scratch copy (example: a local stack such as staging, described by ${DRILL_FILE})`);
      const adapters = drillAdapters();
      const a = adapters[platform];
      if (!a) throw new DrillTargetError(`platform "${platform}" has no drill yet (drillable: ${Object.keys(adapters).join(", ")}); example: --platform goodgo`);
      adapter = a;
      if (opts.route !== undefined && !(DRILL_ROUTES as readonly string[]).includes(opts.route)) {
        throw new DrillTargetError(`route "${opts.route}" is not a drill route (one of ${DRILL_ROUTES.join(", ")}); example: --route physical`);
      }
      target = readDrillFile(workDir, opts.stack);
      route = opts.route ?? target.route;
      const w = a.routes[route];
      if (!w) throw new DrillTargetError(`platform "${platform}" has no ${route} drill (routes: ${Object.keys(a.routes).join(", ")}); example: --route ${Object.keys(a.routes)[0]}`);
      way = w;
      const pass = target.passphraseFile ? readFileSync(target.passphraseFile, "utf8").trim() : process.env.PULUMI_CONFIG_PASSPHRASE;
      if (!pass) throw new DrillTargetError(`${join(workDir, DRILL_FILE)}: no passphrase for the scratch stack's secrets: set passphraseFile (example: passphraseFile: /tmp/drill/passphrase) or PULUMI_CONFIG_PASSPHRASE`);
      passphrase = pass;
      const stackFile = join(workDir, `Pulumi.${opts.stack}.yaml`);
      if (!existsSync(stackFile)) throw new DrillTargetError(`${stackFile} is missing: the scratch copy's stack file (copy the stack's and point its host at the scratch host)`);
      const block = (parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> })?.config?.[a.configKey];
      if (!block) throw new DrillTargetError(`${stackFile}: config.${a.configKey} is missing: the platform drilled must be in the stack (example: copy the ${platform} block of Pulumi.staging.yaml)`);
      s.detail = `route ${route}${opts.route !== undefined ? " (--route)" : ` (${DRILL_FILE})`}`;
    });
  } catch {
    return finish("refused");
  }
  target = target!;
  adapter = adapter!;
  way = way!;
  route = route!;
  report.route = route;
  const pg = target.dataHost.postgres;
  const stackFile = join(workDir, `Pulumi.${opts.stack}.yaml`);
  const readBlock = () => (parse(readFileSync(stackFile, "utf8")) as { config: Record<string, any> }).config[adapter.configKey] as Record<string, any>;
  const editBlock = (change: (block: Record<string, any>) => void) => {
    const doc = parse(readFileSync(stackFile, "utf8")) as { config: Record<string, any> };
    change(doc.config[adapter.configKey]);
    writeFileSync(stackFile, stringify(doc));
  };
  const label = `drill-${new Date().toISOString().replace(/\D/g, "").slice(2, 14)}`; // drill-YYMMDDhhmmss: ≤ 21 chars
  const events: EngineEvent[] = [];
  let writer: AckedWriter | undefined;
  let after: AckedWriter | undefined;

  try {
    const engine = await EngineStack.open({ workDir, stackName: opts.stack, backendDir: target.backendDir, passphrase: passphrase! });
    const up = async (follow?: (e: EngineEvent) => void) => {
      const from = events.length;
      try {
        return await engine.up({ onEvent: (e) => (events.push(e), follow?.(e)) });
      } catch (e) {
        const errors = engineErrors(events.slice(from));
        throw new Error(errors.length ? errors.join("\n") : (e as Error).message);
      }
    };

    await phase("drill/baseline-up", "up: the scratch stack as declared (the baseline)", async (s) => {
      const r = await up();
      s.detail = `${Object.entries(r.summary).map(([op, n]) => `${op} ${n}`).join(", ")}`;
    });

    writer = await phase("drill/start-writer", `start the writer (acknowledged inserts into ${DRILL_TABLE} in ${pg.database}${target.writer.everyMs ? `, one every ${target.writer.everyMs} ms` : ""})`, async (s) => {
      createDrillTable(pg);
      const w = new AckedWriter(pg, nextDrillId(pg), undefined, { everyMs: target.writer.everyMs });
      await w.waitForAcks(target.writer.rowsBeforeBackup, 60_000 + target.writer.rowsBeforeBackup * target.writer.everyMs * 2);
      s.detail = `${w.acked.length} writes acknowledged`;
      return w;
    });

    let backupRef = "";
    const ackedAtBackup = await phase("drill/backup", way.backupTitle, async (s) => {
      if (way.pauseWriter) await writer!.pause();
      const before = writer!.acked.length;
      let suffix = "";
      editBlock((b) => (suffix = way.addBackup(b, label)));
      await up();
      if (way.pauseWriter) writer!.resume();
      // Paused: exactly what the backup holds. Live: every write acknowledged before the backup ended is in it (its WAL
      // up to the stop point is part of the backup), so the count when it returned is what a backup alone brings back.
      const n = way.pauseWriter ? before : writer!.acked.length;
      const stdout = outputsOf(events, suffix)?.stdout;
      const taken = way.backupTaken(resultLine(stdout, way.backupScript), readBlock());
      if (typeof taken === "string") throw new Error(`the backup operation (${suffix.slice(1)}) printed no ${taken}; its output: ${String(stdout ?? "none").slice(-800)}`);
      backupRef = taken.ref;
      report.backup = taken.describe;
      s.detail = `${taken.describe} holds the first ${n} acknowledged writes${way.pauseWriter ? "" : ` (${n - before} of them written while it ran)`}`;
      return n;
    });

    await phase("drill/writes-after-backup", `${target.writer.rowsAfterBackup} more writes (what a backup alone would lose)`, async (s) => {
      await writer!.waitForAcks(ackedAtBackup + target.writer.rowsAfterBackup, 60_000 + target.writer.rowsAfterBackup * target.writer.everyMs * 2);
      s.detail = `${writer!.acked.length - ackedAtBackup} writes after the backup so far (the writer keeps going)`;
    });

    const lost = [pg.dataDir, ...target.dataHost.alsoLost];
    const loss: Loss = await phase("drill/lose-data-host", `lose the data host: kill -9 PostgreSQL and remove ${lost.join(", ")}`, async (s) => {
      const l = await loseDataHost(pg.dataDir, pg, target.dataHost.alsoLost);
      s.detail = `killed pids ${l.killed.join(" ")}; ${lost.map((p) => `${p} ${l.stillThere.includes(p) ? "STILL THERE" : "gone"}`).join("; ")}; pg_isready: ${l.refused}`;
      return l;
    });
    await writer.stop();
    const acked: Ack[] = [...writer.acked];
    report.writer = {
      ackedBeforeLoss: acked.length,
      ackedAtBackup,
      firstId: acked[0]?.id ?? 0,
      lastId: acked.at(-1)?.id ?? 0,
      ...(acked.length ? { lastAckedAt: iso(acked.at(-1)!.at) } : {}),
      lostAt: iso(loss.lostAt),
      dataDirGone: loss.dataDirGone,
      ...(target.dataHost.alsoLost.length ? { alsoLost: target.dataHost.alsoLost, alsoLostGone: loss.stillThere.length === 0 } : {}),
      refusedAfterLoss: loss.refused,
    };
    report.notes.push(
      `writer: ${acked.length} writes acknowledged before the loss (${ackedAtBackup} before the backup ended); last at ${acked.length ? iso(acked.at(-1)!.at) : "-"}; the session ended with: ${writer.endedWith.trim().split("\n").pop() ?? ""}`,
      `loss at ${iso(loss.lostAt)}: kill -9 of postmaster ${loss.postmasterPid} and ${loss.killed.length - 1} children, ${lost.join(", ")} removed; pg_isready: ${loss.refused}`,
    );
    if (loss.stillThere.length) throw new Error(`after the loss ${loss.stillThere.join(", ")} still exist(s): the drill did not lose what its drill file says`);

    await phase("drill/replace-data-host", "an empty data host back at the same address", async (s) => {
      const [cmd, ...args] = target.dataHost.replace;
      const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${target.dataHost.replace.join(" ")} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-500)}`);
      const answer = serverAnswers(pg);
      if (!answer.up) throw new Error(`after ${cmd}, PostgreSQL does not answer on ${pg.host}:${pg.port}: ${answer.message}`);
      s.detail = answer.message;
    });

    await phase("drill/recovery-switch", `set recovery switch of ${adapter.configKey} in ${stackFile}`, (s) => {
      editBlock((b) => (s.detail = way.setRecovery(b, label, backupRef)));
    });

    await phase("drill/recovery-up", "up: the recovery chain under the engine", async () => {
      const before = events.length;
      const prefix = way.recoveryPrefix(label);
      const chain = new Map<string, DrStep>();
      const stepKey = (name: string) => `${platform}/${way.switchName}/${name}`;
      const stepName = (urn?: string) => {
        const name = urn?.split("::").pop() ?? "";
        const i = name.indexOf(prefix);
        return i >= 0 ? name.slice(i + prefix.length) : undefined;
      };
      // The chain's resources as steps, live: started at the engine's pre-event, ended at its outputs or its error.
      const follow = (ev: EngineEvent) => {
        const pre = stepName(ev.resourcePreEvent?.metadata.urn);
        if (pre && !chain.has(pre)) chain.set(pre, begin(stepKey(pre), pre, platform));
        const done = stepName(ev.resOutputsEvent?.metadata.urn);
        if (done && chain.get(done)?.status === "running") end(chain.get(done)!, "ok");
        const d = ev.diagnosticEvent;
        const failed = d?.severity === "error" ? stepName(d.urn) : undefined;
        if (failed) {
          const s = chain.get(failed) ?? begin(stepKey(failed), failed, platform);
          chain.set(failed, s);
          if (s.status !== "failed") end(s, "failed", d!.message.trim().slice(-1500));
        }
      };
      try {
        await up(follow);
      } finally {
        for (const s of chain.values()) if (s.status === "running") end(s, "failed", "did not finish: the up stopped before it completed");
      }
      const restored = way.restored((step) => outputsOf(events.slice(before), `${prefix}${step}`)?.stdout, readBlock());
      if (restored) report.restored.push({ platform, ...restored });
    });

    const healthyAt = await phase("drill/healthy", `the recovered database takes a write (${pg.database} on ${pg.host}:${pg.port})`, async (s) => {
      // Healthy = a write acknowledged, polled (a server that is still starting answers on the next try).
      const deadline = Date.now() + 120_000;
      let last = "";
      while (Date.now() < deadline) {
        try {
          after = new AckedWriter(pg, Math.max(HEALTH_ID_FLOOR, nextDrillId(pg, Number.MAX_SAFE_INTEGER)));
          await after.waitForAcks(1, 10_000);
          s.detail = `first write acknowledged at ${iso(after.acked[0]!.at)}`;
          return after.acked[0]!.at;
        } catch (e) {
          last = (e as Error).message;
          await after?.stop();
          after = undefined;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      throw new Error(`the recovered database took no write within 120 s: ${last}`);
    });
    await after?.stop();
    report.writer!.healthyAt = iso(healthyAt);

    const rpo: RpoMeasure = await phase("drill/measure", "RTO and RPO against the runbook's targets", (s) => {
      // This drill's range only: rows of an earlier drill on the same database, and the health check's, are not its writes.
      const first = acked[0]?.id ?? 0;
      const m = measureRpo(acked, idsPresent(pg).filter((id) => id >= first && id < HEALTH_ID_FLOOR));
      const o = objectives(platform, { rtoMs: healthyAt - loss.lostAt, rpo: m }, recoveryTargets(platform), way.rtoRoute);
      report.objectives.push(o);
      s.detail = verdict(o);
      if (!m.presentIsPrefix) throw new Error(`the recovered ${DRILL_TABLE} is not the first ${m.present} acknowledged writes: rows are missing in the middle or were never acknowledged`);
      return m;
    });
    const afterBackup = rpo.ackedBeforeLoss - ackedAtBackup;
    report.notes.push(
      `after recovery (${route} route): ${rpo.present} of ${rpo.ackedBeforeLoss} acknowledged writes present, ${rpo.lostRows} lost (${rpo.rpoSeconds}s of writes); ${afterBackup} were written after the backup ended, ${Math.max(0, afterBackup - rpo.lostRows)} of them recovered`,
      ...(way.notes?.(readBlock()) ?? []),
    );
    return finish("ok");
  } catch (e) {
    if (!report.steps.some((s) => s.status === "failed")) {
      const s = begin("drill/error", "the drill stopped", platform);
      end(s, "failed", (e as Error).message);
    }
    return finish("failed");
  } finally {
    await writer?.stop();
    await after?.stop();
  }
}
