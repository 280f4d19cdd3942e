// Placeholder for the drill's measurement core, which the dr-drill branch builds (lib/dr/drill.ts there replaces this
// file on merge). `lazarus dr drill` (cli/dr/drill.ts) calls runDrill with exactly this signature.
import type { DrReport, DrStep } from "./report";

export interface DrillOptions {
  stack: string;
  platform?: string;
  workDir?: string;
  onStep?: (s: DrStep) => void;
}

export async function runDrill(_opts: DrillOptions): Promise<DrReport> {
  throw new Error("drill core not merged yet");
}
