// Turns the engine's events into the report's timeline: one step per resource the engine changes (created, replaced,
// updated, deleted), named by the rebuild step it belongs to when its resource name ends with a planned step's key
// (goodgo-prod-recover-host-r1-restore-database → goodgo/restore-database), so a drill's times line up with `dr plan`.
// It also picks the restore scripts' JSON result lines (scripts/lib/common.sh) out of command outputs: what was
// restored from which backup, with its checksum.
import type { EngineEvent } from "../../lib/engine/driver";
import type { DrStep, RestoredBackup } from "../../lib/dr/report";
import type { PlatformRebuild } from "./rebuildPlan";

// A replacement is timed once, as its create-replacement (when the new one's create runs); its "replace" marker and the
// old one's delete (a no-op for host commands) add nothing to the timeline.
const QUIET_OPS = new Set(["same", "read", "refresh", "replace", "delete-replaced"]);

function resourceName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

export class EngineTimeline {
  readonly steps: DrStep[] = [];
  readonly restored: RestoredBackup[] = [];
  private readonly open = new Map<string, DrStep>();

  constructor(
    private readonly stack: string,
    private readonly platforms: PlatformRebuild[],
    private readonly onLine: (line: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private classify(urn: string, op: string): { platform?: string; key: string; title: string } {
    const name = resourceName(urn);
    const p = this.platforms.find((x) => name.startsWith(`${x.platform}-${this.stack}`));
    if (!p) return { key: `stack/${name}`, title: name };
    // A delete is an earlier run's resource going (an older label's chain step): filed under its own name, so it is
    // never read as this run's step of the same key (nor timed as one by `dr plan`).
    const planned = op === "delete" ? undefined : p.steps.find((s) => name.endsWith(`-${s.key.slice(p.platform.length + 1)}`));
    return { platform: p.platform, key: planned?.key ?? `${p.platform}/${name}`, title: planned ? `${planned.key.slice(p.platform.length + 1)} (${name})` : name };
  }

  handle = (e: EngineEvent): void => {
    const pre = e.resourcePreEvent;
    if (pre && !pre.planning && !QUIET_OPS.has(pre.metadata.op)) {
      const c = this.classify(pre.metadata.urn, pre.metadata.op);
      const step: DrStep = { key: c.key, platform: c.platform, title: `${pre.metadata.op} ${c.title}`, startedAt: this.now().toISOString(), status: "running" };
      this.open.set(pre.metadata.urn, step);
      this.steps.push(step);
      return;
    }
    const done = e.resOutputsEvent;
    if (done && !done.planning) {
      const step = this.open.get(done.metadata.urn);
      if (step) {
        step.endedAt = this.now().toISOString();
        step.status = "ok";
        this.open.delete(done.metadata.urn);
        this.onLine(`✔ ${step.title}  ${((Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000).toFixed(1)} s`);
        this.pickRestored(step, done.metadata.new?.outputs ?? {});
      }
      return;
    }
    const failed = e.resOpFailedEvent;
    if (failed) {
      const step = this.open.get(failed.metadata.urn);
      if (step) {
        step.endedAt = this.now().toISOString();
        step.status = "failed";
        this.open.delete(failed.metadata.urn);
      }
      return;
    }
    const diag = e.diagnosticEvent;
    if (diag?.severity === "error" && diag.urn) {
      const step = this.steps.find((s) => s.status !== "ok" && diag.urn && ["create", "delete"].some((op) => this.classify(diag.urn!, op).key === s.key));
      if (step) step.detail = [step.detail, diag.message.trim()].filter(Boolean).join(" ").slice(0, 2000);
    }
  };

  /** The first failed step (the engine stops there), after the run. */
  failedStep(): DrStep | undefined {
    for (const s of this.open.values()) if (s.status === "running") s.status = "failed";
    return this.steps.find((s) => s.status === "failed");
  }

  private pickRestored(step: DrStep, outputs: Record<string, unknown>): void {
    const stdout = typeof outputs.stdout === "string" ? outputs.stdout : "";
    for (const line of stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const platform = step.platform ?? "stack";
      if (typeof r.backup === "string" && typeof r.sha256 === "string") {
        this.restored.push({ platform, database: String(r.database ?? r.restored_database ?? ""), source: r.backup, checksum: `sha256:${r.sha256}`, route: "logical" });
      } else if (typeof r.backup_label === "string" && r.backup_label) {
        this.restored.push({ platform, database: String(r.target_dir ?? ""), source: `pgBackRest stanza ${String(r.stanza ?? "")} to ${String(r.recovered_until ?? r.target_time ?? "latest")}`, checksum: r.backup_label, route: "physical" });
      }
    }
  }
}
