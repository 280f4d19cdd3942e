// Typesense's health check, as the rendered compose file states it, run for real (issue 8, defect 4): it used curl,
// which the typesense/typesense:27.1 image does not ship, so Typesense never became healthy and api, web and nginx
// (which wait on it) never started.
// The stand-in image: a PATH holding only the commands the image has among those a check could reach for (its
// Dockerfile, docker/deployment.Dockerfile at v27.1, is ubuntu:22.04 plus ca-certificates: bash, dash as sh,
// coreutils, grep, sed; no curl, no wget), and a loopback server answering /health as Typesense does
// (test/support/typesenseHealthStub.ts). What it cannot show: Docker's own timeout handling, and the real binary's
// answer, whose {"ok":true} shape is Typesense's documented /health response.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planFor } from "../../support/stacks";
import { startTypesenseHealthStub, type TypesenseHealthStub } from "../../support/typesenseHealthStub";

const IMAGE_TOOLS = ["bash", "sh", "cat", "grep", "sed", "head", "timeout", "printf", "sleep"];
const ABSENT = ["curl", "wget", "nc"];

let stub: TypesenseHealthStub;
let bin: string;
let healthTest: string[];

beforeAll(async () => {
  stub = await startTypesenseHealthStub();
  bin = mkdtempSync(join(tmpdir(), "typesense-image-bin-"));
  for (const tool of IMAGE_TOOLS) {
    const path = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    if (path.startsWith("/")) symlinkSync(path, join(bin, tool));
  }
  const plan = await planFor("prod");
  const compose = plan.files.find((f) => f.platform === "goodgo" && f.path.endsWith("/docker-compose.prod.yml"))!.content!;
  healthTest = (parse(compose) as { services: Record<string, { healthcheck: { test: string[] } }> }).services.typesense.healthcheck.test;
});
afterAll(async () => {
  await stub.close();
  rmSync(bin, { recursive: true, force: true });
});

/**
 * Runs the check the way Docker does (CMD: the argv; CMD-SHELL: /bin/sh -c), Compose's $$ unescaped, port swapped,
 * killed after the compose file's 5 s timeout. Asynchronous: the stub answers from this process's event loop.
 */
function runHealthCheck(port: number): Promise<{ code: number | null; output: string }> {
  const [form, ...rest] = healthTest.map((w) => w.replace(/\$\$/g, "$").replace(/\b8108\b/g, String(port)));
  const argv = form === "CMD-SHELL" ? ["sh", "-c", rest[0]!] : rest;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: bin, HOME: bin }, timeout: 5000 });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (e) => (output += String(e)));
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("Typesense's health check", () => {
  it("the stand-in image has none of the HTTP clients the real one lacks", () => {
    for (const tool of ABSENT) expect(spawnSync("sh", ["-c", `command -v ${tool}`], { env: { PATH: bin } }).status, tool).not.toBe(0);
  });

  it("passes when /health answers {\"ok\":true}, using only what the image has", async () => {
    stub.setReady(true);
    const r = await runHealthCheck(stub.port);
    expect(r.code, r.output).toBe(0);
  });

  it("fails while Typesense reports {\"ok\":false}, and when nothing listens", async () => {
    stub.setReady(false);
    const loading = await runHealthCheck(stub.port);
    expect(loading.code, loading.output).toBe(1);
    stub.setReady(true);
    const down = await runHealthCheck(1);
    expect(down.code, down.output).toBe(1);
  });
});
