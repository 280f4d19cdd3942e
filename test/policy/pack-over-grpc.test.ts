// The CrossGuard pack itself (policy/index.ts) started as the engine starts it, in its own folder, serving the analyzer
// gRPC protocol of the real @pulumi/policy; this test plays the engine's part and sends AnalyzeStack with the offline
// plan's resources. What it does not model: the Pulumi CLI (not installed here), which also sends secrets as secret
// values (the pack then unwraps them) and unknowns as unknowns; the plan's inputs carry "[secret]" and
// "[unknown until deploy]" instead. So this shows the pack loads, names its policies, maps resources, reads the
// confirmations and reports each violation on its URN; the rules themselves are tested in rules.test.ts.
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeStackRequest, AnalyzerResource, AnalyzerResourceOptions, type AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import type { Plan } from "../../cli/planner";
import { POLICIES } from "../../policy/rules";
import { spawn, type ChildProcess } from "node:child_process";
import { one, planFor, PROJECT_DIR, T } from "../support/stacks";

let pack: ChildProcess;
let client: AnalyzerClient;

beforeAll(async () => {
  // The pack prints the port it serves on as its first line (@pulumi/policy serve()), as the engine expects.
  pack = spawn(process.execPath, ["-r", "tsx/cjs", "index.ts"], { cwd: join(PROJECT_DIR, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  pack.stderr!.on("data", (d) => (out += d));
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(m[1]);
    });
    pack.once("exit", (code) => reject(new Error(`policy pack exited ${code} before serving:\n${out}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(() => {
  client?.close();
  pack?.kill("SIGTERM");
});

function analyzeStack(plan: Plan): Promise<{ policy: string; urn: string; message: string }[]> {
  const req = new AnalyzeStackRequest();
  req.setResourcesList(
    plan.resources.filter((r) => r.custom).map((r) => {
      const res = new AnalyzerResource();
      res.setUrn(r.urn);
      res.setType(r.type);
      res.setName(r.name);
      res.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs))));
      res.setOptions(new AnalyzerResourceOptions().setProtect(r.protect));
      return res;
    }),
  );
  return new Promise((resolve, reject) =>
    client.analyzeStack(req, (err, resp) =>
      err ? reject(err) : resolve(resp.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), urn: d.getUrn(), message: d.getMessage() }))),
    ),
  );
}

describe("the policy pack over the analyzer protocol", () => {
  it("serves every rule as a mandatory policy", async () => {
    const info = await new Promise<AnalyzerInfo>((resolve, reject) => client.getAnalyzerInfo(new Empty(), (err, r) => (err ? reject(err) : resolve(r))));
    expect(info.getName()).toBe("lazarus-invariants");
    expect(info.getPoliciesList().map((p) => p.getName()).sort()).toEqual(POLICIES.map((p) => p.name).sort());
  });

  it("finds nothing in the real prod plan, and reports an unprotected cluster on its URN", async () => {
    const prod = await planFor("prod");
    expect(await analyzeStack(prod)).toEqual([]);
    const copy = structuredClone(prod);
    const cluster = one(copy, T.cluster, "kro-prod-db");
    cluster.protect = false;
    const found = await analyzeStack(copy);
    expect(found.map((d) => [d.policy, d.urn])).toEqual([["prod-stateful-protected", cluster.urn]]);
    expect(found[0].message).toContain("kro-prod-db: a database cluster on stack prod is not protected");
  });

  it("reads the confirmations from the stack file: an unconfirmed shutdown op on prod is reported", async () => {
    const plan = await planFor("prod", {
      patch: (c) => (c["lazarus:kro"].operations = [{ id: "2026-11-23-shutdown", action: "graceful-shutdown", confirm: "prod/kro/graceful-shutdown" }]),
    });
    // The real Pulumi.prod.yaml carries no such confirmation: the pack must refuse the step.
    const found = await analyzeStack(plan);
    expect(found.map((d) => d.policy)).toEqual(["destructive-confirmed"]);
    expect(found[0].message).toContain('needs confirm: "prod/kro/graceful-shutdown"');
  });
});
