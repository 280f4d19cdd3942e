// Runbook 004's "Alert Thresholds" section, copied word for word from shared/runbooks/004_05d360d520f73d90.txt, so the
// alert tests hold the rendered rules to the document rather than to the code under test.
export const RUNBOOK_ALERT_THRESHOLDS = `### Alert Thresholds

**Critical Alerts:**
- Payment failure rate > 5% in 5 minutes
- TLS connection errors > 10 in 1 minute
- Database connection pool exhaustion
- Health check failing

**Warning Alerts:**
- Payment processing latency p95 > 30s
- Unmatched reconciliation items > 10
- TLS circuit breaker OPEN state
`;

/** Each bullet with its severity (the heading it sits under) and its threshold, if the bullet states a number. */
export function runbookAlerts(): { text: string; severity: "critical" | "warning"; threshold?: number }[] {
  const out: { text: string; severity: "critical" | "warning"; threshold?: number }[] = [];
  let severity: "critical" | "warning" | undefined;
  for (const line of RUNBOOK_ALERT_THRESHOLDS.split("\n")) {
    const heading = /^\*\*(Critical|Warning) Alerts:\*\*$/.exec(line);
    if (heading) severity = heading[1].toLowerCase() as "critical" | "warning";
    const bullet = /^- (.+)$/.exec(line);
    if (bullet && severity) {
      const m = /> (\d+(?:\.\d+)?)/.exec(bullet[1]);
      out.push({ text: bullet[1], severity, ...(m ? { threshold: Number(m[1]) } : {}) });
    }
  }
  return out;
}
