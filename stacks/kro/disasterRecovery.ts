// KRO's full host loss (runbook 000, "host lost"): a new droplet from a snapshot; the reserved IP, firewall and the
// managed database follow it (the database is not on the host and survives).
import { isExistingHost } from "../../config/shared";
import { isProtectedStack } from "../../config/checks";
import type { DisasterRecovery } from "../disasterRecovery";
import type { KroConfig } from "./config";
import type { KroPlan } from "./plan";

export const kroDisasterRecovery: DisasterRecovery<KroConfig, KroPlan> = {
  loss: "the droplet is gone: a new one from a snapshot (recovery.host.fromSnapshot), the reserved IP and firewall move to it; the managed PostgreSQL cluster is not on the host and is kept",
  targets: { source: "runbook 000 (KRO): none stated" },
  rebuild(cfg, { stack, snapshot }) {
    if (isExistingHost(cfg.host)) {
      return { manual: "KRO runs on an existing server Lazarus did not create: have the server back at the same address, then `pulumi up --replace` the platform's file writers and setup steps: they are keyed on the address and a refresh does not see them gone (what `lazarus dr rebuild` does for GoodGo; not automated for KRO yet)" };
    }
    if (!snapshot && isProtectedStack(stack)) {
      return {
        problem: `--snapshot: KRO on ${stack} is rebuilt from a snapshot id ("latest" is refused on a protected stack: any later snapshot would replace the rebuilt droplet); list them with \`doctl compute snapshot list --resource droplet --format ID,Name,CreatedAt\` (example: --snapshot 187654321)`,
      };
    }
    return {
      recovery: { host: { fromSnapshot: snapshot ?? "latest" } },
      confirm: { switch: "host", what: "rebuild-host" },
      refresh: true,
      afterwards: "add `done: true` to recovery.host (keep fromSnapshot, remove `confirm`) and run `pulumi up`: the droplet is protected again and no later up replaces it (README \"Recovery switches\")",
    };
  },
  steps: (plan) => [
    { key: "droplet", title: `new droplet ${plan.host.name} from snapshot ${plan.host.rebuild?.fromSnapshot ?? "(the one --snapshot names)"}, reserved IP and firewall moved to it` },
    { key: "host-software", title: `files under ${plan.deployDir} (production.json with the managed connection, the CA), compose up --wait` },
    { key: "certificate", title: "TLS certificate issued again (certbot webroot), nginx restarted" },
    { key: "health", title: `wait until ${plan.outputs.healthUrl} answers 2xx` },
  ],
  healthUrl: (plan) => plan.outputs.healthUrl,
};
