// Pencom's full host loss (runbook 000, Pencom: on-premises): the servers exist outside Lazarus (host: {existing}), so
// a lost one is replaced by the on-premises team; Lazarus does not rebuild it.
import type { DisasterRecovery } from "../disasterRecovery";
import type { PencomConfig } from "./config";
import type { PencomPlan } from "./plan";

export const pencomDisasterRecovery: DisasterRecovery<PencomConfig, PencomPlan> = {
  loss: "an on-premises server Lazarus did not create: it is replaced outside Lazarus; its PostgreSQL, MongoDB and Redis are restored by the runbook's procedures (recovery.coreDatabase, recovery.notificationsDatabase; the PostgreSQL server's whole cluster from the off-site repository: recovery.postgresServer, with postgres.pitr.offsite)",
  targets: { source: "runbook 000 (Pencom): none stated" },
  rebuild: () => ({
    manual: "Pencom runs on existing on-premises servers: have the server back at the same address, then `pulumi up --replace` the platform's file writers and setup steps (PM2, the fleet): they are keyed on the address and a refresh does not see them gone (what `lazarus dr rebuild` does for GoodGo; not automated for Pencom yet)",
  }),
  steps: (plan) => [
    { key: "host", title: `the server ${plan.host.name} replaced outside Lazarus, at the same address` },
    { key: "fleet", title: "PM2 and the eight services deployed tier by tier" },
  ],
  healthUrl: () => undefined,
};
