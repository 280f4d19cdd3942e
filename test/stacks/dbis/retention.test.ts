// Runbook 004's Data Retention as object storage: audit logs 7-10 years (configurable, 10 by default), payment records
// indefinite (archived), application logs 30 days; the daily database backups expire. The audit bucket is protected on
// every stack and versioned (the DigitalOcean provider's SpacesBucket has no object lock), so no stack change deletes it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { runPlanCli } from "../../../cli/plan";
import { DBIS_BUCKET_PREFIXES } from "../../../stacks/dbis/plan";
import { T, one, patchedProject, planFor } from "../../support/stacks";

type Rule = { id: string; prefix: string; expiration?: { days: number }; noncurrentVersionExpiration: { days: number } };
const rules = (plan: Plan, name: string) => one(plan, T.spacesBucket, name).inputs.lifecycleRules as Rule[];
const rule = (plan: Plan, name: string, prefix: string) => rules(plan, name).find((r) => r.prefix === prefix)!;
const YEAR_DAYS = 365.25;

let prod: Plan;
let staging: Plan;
beforeAll(async () => {
  prod = await planFor("prod");
  staging = await planFor("staging");
});

describe("DBIS retention", () => {
  it("keeps audit exports 10 years by default, current and overwritten versions alike, in a versioned private bucket", async () => {
    const plan = await planFor("staging", { patch: (c) => delete c["lazarus:dbis"].backups.auditRetentionYears });
    const audit = rule(plan, "dbis-staging-audit-bucket", DBIS_BUCKET_PREFIXES.audit);
    expect(audit.expiration!.days).toBeGreaterThanOrEqual(10 * YEAR_DAYS);
    expect(audit.expiration!.days).toBeLessThan(10 * YEAR_DAYS + 1);
    expect(audit.noncurrentVersionExpiration.days).toBe(audit.expiration!.days);
    expect(one(plan, T.spacesBucket, "dbis-staging-audit-bucket").inputs).toMatchObject({ acl: "private", forceDestroy: false, versioning: { enabled: true } });
  });

  it("takes the configured years, never fewer days than they hold", () => {
    const sevenYears = rule(staging, "dbis-staging-audit-bucket", DBIS_BUCKET_PREFIXES.audit).expiration!.days;
    expect(sevenYears).toBeGreaterThanOrEqual(7 * YEAR_DAYS);
    expect(sevenYears).toBeLessThan(7 * YEAR_DAYS + 1);
  });

  it("protects the audit bucket on every stack, the backup bucket where the stack protects", () => {
    expect(one(prod, T.spacesBucket, "dbis-prod-audit-bucket").protect).toBe(true);
    expect(one(staging, T.spacesBucket, "dbis-staging-audit-bucket").protect).toBe(true);
    expect(one(prod, T.spacesBucket, "dbis-prod-backups-bucket").protect).toBe(true);
    expect(one(staging, T.spacesBucket, "dbis-staging-backups-bucket").protect).toBeFalsy();
  });

  it("expires app logs after 30 days and database backups after their retention, and never the payment archive", () => {
    expect(rule(prod, "dbis-prod-backups-bucket", DBIS_BUCKET_PREFIXES.appLogs).expiration!.days).toBe(30);
    expect(rule(prod, "dbis-prod-backups-bucket", DBIS_BUCKET_PREFIXES.database).expiration!.days).toBe(35);
    const archive = rule(prod, "dbis-prod-backups-bucket", DBIS_BUCKET_PREFIXES.paymentArchive);
    expect(archive.expiration).toBeUndefined();
    expect(archive.noncurrentVersionExpiration.days).toBeGreaterThanOrEqual(10 * YEAR_DAYS);
  });

  it("relies on versioning because the provider's SpacesBucket offers no object lock", () => {
    const schema = readFileSync(join(__dirname, "../../../node_modules/@pulumi/digitalocean/spacesBucket.d.ts"), "utf8");
    const args = /export interface SpacesBucketArgs \{([\s\S]*?)\n\}/.exec(schema)![1];
    expect(args).not.toMatch(/objectLock|object_lock/i);
    expect(args).toMatch(/versioning\?:/);
  });

  it.each([
    [(c: any) => (c["lazarus:dbis"].backups.auditRetentionYears = 5), "lazarus:dbis.backups.auditRetentionYears: 5 is below the runbook's 7 years of audit-log retention (example: 10)"],
    [(c: any) => (c["lazarus:dbis"].backups.auditRetentionYears = 12), "lazarus:dbis.backups.auditRetentionYears: 12 is above the runbook's 10 years of audit-log retention (example: 10)"],
    [(c: any) => (c["lazarus:dbis"].backups.auditBucket = c["lazarus:dbis"].backups.bucket), 'lazarus:dbis.backups.auditBucket: "dbis-prod-backups" is the same bucket as backups.bucket'],
    [(c: any) => (c["lazarus:dbis"].backups.region = "fra2"), 'lazarus:dbis.backups.region: "fra2" is not a DigitalOcean Spaces region (example: fra1'],
  ])("refuses a bad retention setting with file, key and example (%#)", async (patch, message) => {
    const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", patch)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`Pulumi.prod.yaml: ${message}`);
  });
});
