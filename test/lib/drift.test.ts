// The drift reader on a RECORDED run of the real engine (pulumi 3.274.1): the JSON lines of `pulumi refresh
// --preview-only --json` with streamed events, after app.conf was changed and secret.env's mode and content were
// changed on the loopback host behind Pulumi's back (recorded from the stack test/engine/drift.test.ts drives; the
// dynamic provider's serialized code shortened). The live engine test covers the same on every run where the engine is
// built; this one keeps the format pinned without it, and covers bad input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectDrift, DriftInputError, parseEngineEvents, renderDriftMarkdown, DRIFT_MARKER } from "../../lib/drift";
import { gfmToHtml } from "../support/markdown";

const RECORDING = join(__dirname, "../fixtures/drift/refresh-preview-only.jsonl");
const recorded = readFileSync(RECORDING, "utf8");

describe("drift from the engine's refresh events", () => {
  it("names each drifted resource and the outputs that differ; a secret's change is not shown, only its visible mode", () => {
    const report = detectDrift(parseEngineEvents(recorded, RECORDING));
    expect(report.checked).toBe(2);
    expect(report.errors).toEqual([]);
    expect(report.drifted.map((d) => [d.name, d.type, d.kind, d.keys])).toEqual([
      ["app-conf", "pulumi-nodejs:dynamic:Resource", "changed", ["content"]],
      ["secret-env", "pulumi-nodejs:dynamic:Resource", "changed", ["mode"]],
    ]);
    expect(report.drifted[0].values.content).toEqual({ state: "listen 8080;\n", live: "listen 6666;\n" });
    // The recording's summary agrees: two updates, the stack the same.
    const summary = parseEngineEvents(recorded, RECORDING).find((e) => e.summaryEvent)!.summaryEvent!;
    expect(summary.resourceChanges).toEqual({ same: 1, update: 2 });
  });

  it("renders the issue body as GitHub Markdown: a table per stack, then the drifted resources", () => {
    const md = renderDriftMarkdown([{ stack: "prod", report: detectDrift(parseEngineEvents(recorded, RECORDING)) }, { stack: "staging", problem: "refresh did not run: error: no stack named 'staging'" }], "https://github.com/o/r/actions/runs/1");
    expect(md.startsWith(`${DRIFT_MARKER}\n## Live state differs from Pulumi's state\n`)).toBe(true);
    expect(md).toContain("| prod | 2 | 2 | ✅ complete |");
    expect(md).toContain("| staging | – | – | ⚠️ refresh did not run: error: no stack named 'staging' |");
    const html = gfmToHtml(md);
    expect(html).toContain("<table>");
    expect(html).toContain("<h3>prod</h3>");
    expect(html).not.toContain("<h3>staging</h3>");
    expect(html).toContain('<a href="https://github.com/o/r/actions/runs/1">run</a>');
  });

  it("refuses what is not a stream of engine events, naming the file, the line and the command to run", () => {
    const bad = (text: string) => {
      try {
        parseEngineEvents(text, "prod.jsonl");
      } catch (e) {
        expect(e).toBeInstanceOf(DriftInputError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(bad('{"sequence":0}\nnot json\n')).toMatch(/^prod\.jsonl:2: not a JSON engine event \("not json"\).*PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi refresh --preview-only --json/);
    expect(bad(JSON.stringify({ steps: [], changeSummary: { same: 3 } }))).toMatch(/without streaming, which does not say which resource drifted/);
    expect(bad("")).toMatch(/^prod\.jsonl: no engine events/);
  });

  it("takes an engine error as a failed refresh, not as 'no drift'", () => {
    const events = [
      { resourcePreEvent: { metadata: { op: "refresh", urn: "urn:pulumi:prod::lazarus::digitalocean:index/droplet:Droplet::kro-prod-host", type: "digitalocean:index/droplet:Droplet" } } },
      { diagnosticEvent: { severity: "error", message: "GET https://api.digitalocean.com/v2/droplets/1: 401 Unable to authenticate you\n" } },
      { summaryEvent: { resourceChanges: {}, result: "failed" } },
    ];
    const report = detectDrift(parseEngineEvents(events.map((e) => JSON.stringify(e)).join("\n"), "prod.jsonl"));
    expect(report.drifted).toEqual([]);
    expect(report.errors).toEqual(["GET https://api.digitalocean.com/v2/droplets/1: 401 Unable to authenticate you"]);
  });
});
