// Bunty (runbook 003, "Bunty ZKP Platform"): one host with nginx under systemd and the Node backend under PM2, certbot
// TLS, PostgreSQL managed or on the host, Redis on the host.
import type { z } from "zod";
import { isExistingHost } from "../../config/shared";
import { definePlatform } from "../platform";
import { buntyDisasterRecovery } from "./disasterRecovery";
import { BUNTY_SECRETS, buntyProblems, buntyRequiredSecrets, buntySchema, type BuntyConfig } from "./config";
import { declareBunty } from "./declare";
import { planBunty, type BuntyPlan } from "./plan";

export const bunty = definePlatform<BuntyConfig, BuntyPlan>({
  name: "bunty",
  runbook: "003 Bunty",
  schema: buntySchema as unknown as z.ZodType<BuntyConfig>,
  check: buntyProblems,
  secrets: BUNTY_SECRETS,
  requiredSecrets: buntyRequiredSecrets,
  // A droplet, a managed cluster (PostgreSQL or Valkey) and a declared off-site bucket are DigitalOcean resources.
  needs: (cfg) => ({
    digitalocean: !isExistingHost(cfg.host) || cfg.postgres.where === "managed" || cfg.redis.where === "managed" || (cfg.backups.offsite !== undefined && !cfg.backups.offsite.existing),
  }),
  plan: planBunty,
  declare: declareBunty,
  disasterRecovery: buntyDisasterRecovery,
});
