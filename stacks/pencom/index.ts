// Pencom (runbook 000, "Pencom Platform (On-Premises)"): eight Node services under PM2 on servers that already exist,
// started in tiers and shut down in reverse tiers derived from their dependency graph; PostgreSQL (two databases),
// MongoDB, Redis (BullMQ) and a read-only Oracle database as dependencies given by their connection settings.
import type { z } from "zod";
import { definePlatform } from "../platform";
import { pencomDisasterRecovery } from "./disasterRecovery";
import { PENCOM_SECRETS, pencomProblems, pencomRequiredSecrets, pencomSchema, type PencomConfig } from "./config";
import { declarePencom } from "./declare";
import { planPencom, type PencomPlan } from "./plan";

export const pencom = definePlatform<PencomConfig, PencomPlan>({
  name: "pencom",
  runbook: "000 Pencom",
  schema: pencomSchema as unknown as z.ZodType<PencomConfig>,
  check: pencomProblems,
  secrets: PENCOM_SECRETS,
  requiredSecrets: pencomRequiredSecrets,
  // On-premises: no droplet, no managed database; only the off-site pgBackRest bucket when Lazarus declares it.
  needs: (cfg) => ({ digitalocean: cfg.postgres.pitr?.offsite !== undefined && !cfg.postgres.pitr.offsite.existing }),
  plan: planPencom,
  declare: declarePencom,
  disasterRecovery: pencomDisasterRecovery,
});
