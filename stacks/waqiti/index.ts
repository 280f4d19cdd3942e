// Waqiti (runbook 002, "System Recovery Runbook"): the P2P payment platform on Kubernetes. Its namespace, policies,
// RBAC, secrets, config, PostgreSQL and Redis StatefulSets, the four services, the Ingress and the backup CronJob, with
// the seed's recovery scenarios as switches and its checks as operations. Needs a Kubernetes provider and no
// DigitalOcean resource.
import type { z } from "zod";
import { definePlatform } from "../platform";
import { waqitiDisasterRecovery } from "./disasterRecovery";
import { WAQITI_SECRETS, WAQITI_VAULT_FIELDS, waqitiProblems, waqitiSchema, type WaqitiConfig } from "./config";
import { declareWaqiti } from "./declare";
import { planWaqiti, type WaqitiPlan } from "./plan";

export const waqiti = definePlatform<WaqitiConfig, WaqitiPlan>({
  name: "waqiti",
  runbook: "002 Waqiti",
  schema: waqitiSchema as unknown as z.ZodType<WaqitiConfig>,
  check: waqitiProblems,
  secrets: WAQITI_SECRETS,
  // Those Vault provides are not asked of Pulumi config when the stack reads them from Vault.
  requiredSecrets: (cfg) => Object.keys(WAQITI_SECRETS).filter((k) => !(cfg.vault && k in WAQITI_VAULT_FIELDS) && (k !== "waqitiPgbackrestCipherPass" || cfg.backups?.pitr !== undefined)),
  needs: () => ({ digitalocean: false, kubernetes: true }),
  plan: planWaqiti,
  declare: declareWaqiti,
  disasterRecovery: waqitiDisasterRecovery,
});
