// DBIS's Database Failover drilled on a real PostgreSQL streaming replica (test/support/replicaDrill.ts): the primary is
// killed mid-write, the replica is promoted by the recovery.promoteReplica switch's own command text (through the
// DigitalOcean API stand-in, whose effect is pg_promote), and the application writes again on the promoted server.
// RTO and RPO are printed, not asserted against a time (bench/dbis-failover.ts measures them against a baseline).
import { describe, expect, it } from "vitest";
import { runFailoverDrill } from "../../support/replicaDrill";

describe("DBIS failover drill on a real streaming replica", () => {
  it("kill -9 the primary, promote through the switch's command, and the app writes on the promoted server; what was lost is only the unstreamed tail", async () => {
    const r = await runFailoverDrill({ warmupRows: 500 });
    console.log(`failover drill: RTO ${r.rtoMs.toFixed(0)} ms (promote call ${r.promoteMs.toFixed(0)} ms), RPO ${r.lostRows} acknowledged rows = ${r.rpoMs.toFixed(0)} ms of writes, of ${r.ackedBeforeKill} acknowledged`);
    expect(r.promoteOutput.trim()).toBe("promoted dbis-drill-db-replica");
    expect(r.ackedBeforeKill).toBeGreaterThanOrEqual(500);
    // Streaming is in commit order: what the promoted server lacks is the newest acknowledged rows, never older ones.
    expect(r.lostRows).toBeLessThan(r.ackedBeforeKill);
    expect(r.promotedHoldsAPrefix).toBe(true);
    expect(Number.isFinite(r.rtoMs) && r.rtoMs > 0).toBe(true);
    expect(r.rtoMs).toBeGreaterThanOrEqual(r.promoteMs);
  }, 120_000);
});
