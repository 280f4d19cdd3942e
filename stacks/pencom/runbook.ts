import type { PencomConfig } from "./config";
import type { PencomPlan } from "./plan";
export function pencomRunbook(_cfg: PencomConfig, stack: string, _plan: PencomPlan): string {
  return `# Pencom ${stack}\n`;
}
