// GIV's full loss (runbook 000, GIV): there is no host; the app is an App Platform app. If the app is deleted, a
// refreshed `pulumi up` creates it again from the spec; the managed PostgreSQL, MongoDB and Valkey clusters are kept.
import type { DisasterRecovery } from "../disasterRecovery";
import type { GivConfig } from "./config";
import type { GivPlan } from "./plan";

export const givDisasterRecovery: DisasterRecovery<GivConfig, GivPlan> = {
  loss: "no host of ours: if the App Platform app is deleted, a refreshed up creates it from the spec (a new build and deployment); the managed PostgreSQL, MongoDB and Valkey clusters are kept",
  targets: { source: "runbook 000 (GIV): none stated" },
  rebuild: () => ({ recovery: {}, refresh: true, afterwards: "nothing to undo (no switch was set)" }),
  steps: (plan) => [
    { key: "app", title: `App Platform app ${plan.spec.name} created from the spec, its variables and alerts` },
    { key: "deployment", title: "first deployment built and live" },
    { key: "health", title: plan.outputs.url ? `wait until ${plan.outputs.url} answers 2xx` : "wait until the app's live URL answers 2xx" },
  ],
  healthUrl: (plan) => plan.outputs.url,
};
