// KRO (runbook 000, "KRO Platform"): one host running docker compose (backend, frontend, admin-frontend, nginx),
// a DigitalOcean managed PostgreSQL cluster, certbot TLS.
import type { z } from "zod";
import { definePlatform } from "../platform";
import { kroDisasterRecovery } from "./disasterRecovery";
import { KRO_SECRETS, kroProblems, kroSchema, type KroConfig } from "./config";
import { declareKro } from "./declare";
import { planKro, type KroPlan } from "./plan";

export const kro = definePlatform<KroConfig, KroPlan>({
  name: "kro",
  runbook: "000 KRO",
  schema: kroSchema as unknown as z.ZodType<KroConfig>,
  check: kroProblems,
  secrets: KRO_SECRETS,
  requiredSecrets: () => Object.keys(KRO_SECRETS),
  // The managed database is DigitalOcean's, whatever the host is.
  needs: () => ({ digitalocean: true }),
  plan: planKro,
  declare: declareKro,
  disasterRecovery: kroDisasterRecovery,
});
