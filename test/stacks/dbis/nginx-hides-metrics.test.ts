// DBIS's public name never serves the app's /metrics (payment volumes and failure counts are for Prometheus on the
// compose network), however the path is spelled, while everything else reaches the app. The prod plan's nginx.conf is
// checked by `nginx -t`; the same input (stacks/dbis/inventory.ts dbisNginxInput) is then served by a real nginx with
// test ports and a loopback stand-in for the app that records every path it is asked for. The spellings are those an
// Express router would resolve to its /metrics route: case-insensitive, trailing slash, percent-encoded, doubled slash.
import { createServer, request as httpRequest, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { dbis } from "../../../stacks/dbis";
import { dbisNames, dbisNginxInput } from "../../../stacks/dbis/inventory";
import { renderNginxConf } from "../../../renderers/nginx";
import { tlsPaths } from "../../../lib/hostLayout";
import { freePort } from "../../support/ports";
import { planFor, stackPlatformConfig } from "../../support/stacks";
import { nginxServe, nginxTest, type RunningNginx } from "../../support/validators";

const CERT = { ...tlsPaths(dbisNames("prod").certName), names: ["dbis.example.org"] };

function get(port: number, path: string, tls = true): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const common = { host: "127.0.0.1", port, path, method: "GET", headers: { Host: "dbis.example.org" }, agent: false as const };
    const req = tls ? httpsRequest({ ...common, servername: "dbis.example.org", rejectUnauthorized: false }) : httpRequest(common);
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("DBIS's nginx hides /metrics from the public name", () => {
  let plan: Plan;
  let nginx: RunningNginx | undefined;
  let app: Server;
  let httpsPort: number;
  const seen: string[] = [];

  beforeAll(async () => {
    plan = await planFor("prod");
    const appPort = await freePort();
    app = createServer((req, res) => {
      seen.push(req.url ?? "");
      res.end(`app:${req.url}`);
    });
    await new Promise<void>((r) => app.listen(appPort, "127.0.0.1", r));
    const httpPort = await freePort();
    httpsPort = await freePort();
    const input = dbisNginxInput(stackPlatformConfig("prod", dbis), "prod");
    const conf = renderNginxConf({ ...input, upstreams: input.upstreams.map((u) => ({ ...u, host: "127.0.0.1", port: appPort })), httpPort, httpsPort, listenAddress: "127.0.0.1" });
    nginx = await nginxServe(conf, httpsPort, { certs: [CERT] });
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((r) => app?.close(r));
  });

  it("the prod plan's nginx.conf passes nginx -t and names the hidden path", () => {
    const conf = plan.files.find((f) => f.path === "/opt/dbis/nginx.conf")!.content!;
    expect(conf).toContain("location ~* ^/metrics/?$ {");
    const r = nginxTest(conf, { certs: [CERT] });
    expect(r.ok, r.output).toBe(true);
  });

  it.each(["/metrics", "/METRICS", "/Metrics/", "/metrics?format=json", "/%6detrics", "//metrics", "/./metrics"])("answers 404 to %s without asking the app", async (path) => {
    const before = seen.length;
    const r = await get(httpsPort, path);
    expect(r.status).toBe(404);
    expect(seen.length).toBe(before);
  });

  it("passes everything else to the app: /health, the API, the UI, and paths that only start like /metrics", async () => {
    for (const path of ["/health", "/api/v1/payments?status=APPROVED", "/", "/api-docs", "/metrics-dashboard", "/api/v1/metrics"]) {
      const r = await get(httpsPort, path);
      expect(r.status, path).toBe(200);
      expect(r.body).toBe(`app:${path}`);
    }
  });
});
