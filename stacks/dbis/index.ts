// DBIS (runbook 004, "Operational Runbook"): the payments core's Express app under docker compose behind nginx,
// a DigitalOcean managed PostgreSQL cluster with a read replica in the same VPC.
import type { z } from "zod";
import { definePlatform } from "../platform";
import { dbisDisasterRecovery } from "./disasterRecovery";
import { DBIS_SECRETS, dbisProblems, dbisSchema, type DbisConfig } from "./config";
import { declareDbis } from "./declare";
import { planDbis, type DbisPlan } from "./plan";

export const dbis = definePlatform<DbisConfig, DbisPlan>({
  name: "dbis",
  runbook: "004 DBIS",
  schema: dbisSchema as unknown as z.ZodType<DbisConfig>,
  check: dbisProblems,
  secrets: DBIS_SECRETS,
  // The API token only when a switch calls the API.
  requiredSecrets: (cfg) =>
    Object.keys(DBIS_SECRETS).filter((k) => k !== "dbisDigitaloceanApiToken" || cfg.recovery.promoteReplica !== undefined || cfg.recovery.appFailover !== undefined),
  // The managed database is DigitalOcean's, whatever the host is.
  needs: () => ({ digitalocean: true }),
  plan: planDbis,
  declare: declareDbis,
  disasterRecovery: dbisDisasterRecovery,
});
