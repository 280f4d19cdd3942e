// GIV (KROGiving, runbook 000): a DigitalOcean App Platform app with managed MongoDB, PostgreSQL and a Valkey cache,
// each admitting only the app; maintenance mode, restores beside the live clusters with cutover, rollback to a named
// deployment and forced rebuilds as switches and operations.
import type { z } from "zod";
import { definePlatform } from "../platform";
import { givDisasterRecovery } from "./disasterRecovery";
import { GIV_SECRETS, givCallsTheApi, givProblems, givSchema, type GivConfig } from "./config";
import { declareGiv } from "./declare";
import { planGiv, type GivPlan } from "./plan";

export const giv = definePlatform<GivConfig, GivPlan>({
  name: "giv",
  runbook: "000 GIV",
  schema: givSchema as unknown as z.ZodType<GivConfig>,
  check: givProblems,
  secrets: GIV_SECRETS,
  // The app's secrets when it has secret variables; the API token only when a switch or operation calls the API.
  requiredSecrets: (cfg) => [...(cfg.app.secretEnvKeys.length ? ["givAppSecrets"] : []), ...(givCallsTheApi(cfg) ? ["givDigitaloceanApiToken"] : [])],
  needs: () => ({ digitalocean: true }),
  plan: planGiv,
  declare: declareGiv,
  disasterRecovery: givDisasterRecovery,
});
