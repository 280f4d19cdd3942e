// The engine seam of `lazarus dr rebuild`: what the command needs of a stack (refresh, preview, up, each streaming
// engine events), opened over lib/engine/driver.ts on the real engine. Tests that must prove nothing ran pass a fake
// that fails on any call.
import { EngineStack, changeCount, type EngineEvent } from "../../lib/engine/driver";

export interface DrEngine {
  refresh(onEvent: (e: EngineEvent) => void): Promise<void>;
  /** The engine's counts per operation and the number of changing operations. */
  preview(onEvent: (e: EngineEvent) => void): Promise<{ summary: Record<string, number>; changes: number }>;
  /** `replace`: URNs the engine replaces (their create runs again) whatever their diff. */
  up(onEvent: (e: EngineEvent) => void, options?: { replace?: string[] }): Promise<{ summary: Record<string, number> }>;
  /** The URNs in the stack's state. */
  urns(): Promise<string[]>;
}

export interface OpenEngineOptions {
  /** The project copy holding Pulumi.yaml and the switched Pulumi.<stack>.yaml. */
  workDir: string;
  stack: string;
  /** The stack's real state: PULUMI_BACKEND_URL of the engine (file://, s3://, gs://, azblob://, https://). */
  backendUrl: string;
  /** Only for the passphrase secrets provider; PULUMI_CONFIG_PASSPHRASE_FILE comes in `env` instead. */
  passphrase?: string;
  /** Passed to the engine untouched: the backend's and the secrets provider's credentials. Never printed. */
  env: Record<string, string>;
}

export async function openRealEngine(o: OpenEngineOptions): Promise<DrEngine> {
  const s = await EngineStack.open({ workDir: o.workDir, stackName: o.stack, backendUrl: o.backendUrl, passphrase: o.passphrase, env: o.env });
  return {
    async refresh(onEvent) {
      await s.stack.refresh({ onEvent, color: "never" });
    },
    async preview(onEvent) {
      const r = await s.preview({ onEvent });
      return { summary: r.summary as Record<string, number>, changes: changeCount(r.summary) };
    },
    async up(onEvent, options = {}) {
      if (!options.replace?.length) return { summary: (await s.up({ onEvent })).summary as Record<string, number> };
      // The driver's up takes no targets; the Automation API's does.
      const r = await s.stack.up({ onEvent, color: "never", replace: options.replace });
      return { summary: (r.summary.resourceChanges ?? {}) as Record<string, number> };
    },
    async urns() {
      return ((await s.exportState()).deployment?.resources ?? []).map((r: { urn: string }) => r.urn);
    },
  };
}
