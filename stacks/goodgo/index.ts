// GoodGo (runbook 001, "GoodGo Platform — Production Runbook"): one host running the 14-service compose project of
// section 1 with its monitoring stack, daily backups copied off-site to a Spaces bucket, recovery switches (full host
// recovery 4.6, rollback 4.4, database restore 4.1) and runbook operations.
import type { z } from "zod";
import { isExistingHost } from "../../config/shared";
import { definePlatform } from "../platform";
import { goodgoDisasterRecovery } from "./disasterRecovery";
import { GOODGO_SECRETS, goodgoProblems, goodgoSchema, type GoodgoConfig } from "./config";
import { declareGoodgo } from "./declare";
import { planGoodgo, type GoodgoPlan } from "./plan";

export const goodgo = definePlatform<GoodgoConfig, GoodgoPlan>({
  name: "goodgo",
  runbook: "001 GoodGo",
  schema: goodgoSchema as unknown as z.ZodType<GoodgoConfig>,
  check: goodgoProblems,
  secrets: GOODGO_SECRETS,
  requiredSecrets: () => Object.keys(GOODGO_SECRETS),
  // A droplet, and the off-site bucket unless it already exists, are DigitalOcean resources.
  needs: (cfg) => ({ digitalocean: !isExistingHost(cfg.host) || !cfg.backups.offsite.existing }),
  plan: planGoodgo,
  declare: declareGoodgo,
  disasterRecovery: goodgoDisasterRecovery,
});
