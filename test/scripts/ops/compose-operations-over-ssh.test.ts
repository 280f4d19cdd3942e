// The runbook's compose operations (graceful shutdown, stop/start/restart one service, recovery after a reboot,
// up), run as the exact command lines lib/opsCommands.ts produces for the Pulumi command resources, over a real SSH
// login to a real sshd on loopback. Docker itself is the one stand-in (test/support/fake-docker: no engine can run here);
// the tests assert the exact docker calls, their order and working directory, and the scripts' JSON and exit codes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  composeRecoverCommand,
  composeServiceCommand,
  composeShutdownCommand,
  composeUpCommand,
  shellQuote,
} from "../../../lib/opsCommands";
import { KRO_SERVICES, startTestHost, type TestHost } from "../../support/testHost";

let host: TestHost;
const allHealthy = () => Object.fromEntries(KRO_SERVICES.map((s) => [s, "running|healthy|"]));

beforeAll(async () => {
  host = await startTestHost();
});
afterAll(async () => {
  await host?.destroy();
});
beforeEach(() => {
  host.resetCalls();
  host.setContainers(allHealthy());
});

describe("compose up", () => {
  it("brings a fresh host's project up with --wait and reports every service running and healthy", async () => {
    host.setContainers({});
    const cmd = composeUpCommand({ dir: host.projectDir, waitTimeoutSeconds: 120, scriptsRoot: host.scriptsRoot });
    const r = await host.run(cmd);
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual(["compose up -d --wait --wait-timeout 120 --remove-orphans", "compose ps --all --format json"]);
    // Every docker call ran inside the project directory (whose path has a space and a quote).
    expect(new Set(host.calls().map((c) => c.cwd))).toEqual(new Set([host.projectDir]));
    expect(r.json).toMatchObject({ script: "compose-up.sh", status: "ok", exit_code: 0, dir: host.projectDir });
    expect(r.json.services).toEqual(KRO_SERVICES.map((service) => ({ service, state: "running", health: "healthy" })));
    expect(Object.values(host.containers()).map((c) => c.state)).toEqual(["running", "running", "running", "running"]);
  });

  it("fails with 69 and names the service that did not become healthy", async () => {
    host.setContainers({ ...allHealthy(), backend: "exited||broken" });
    const r = await host.run(composeUpCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }));
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", exit_code: 69, unhealthy: ["backend"] });
    expect(String(r.json.error)).toContain("not running/healthy: backend");
  });
});

describe("compose up restarts the services whose mounted files changed", () => {
  // Each case starts with no record of an earlier run.
  beforeEach(() => rmSync(join(host.projectDir, ".lazarus"), { recursive: true, force: true }));

  it("records on the first run, restarts only the service whose file or directory changed, and records again", async () => {
    const config = join(host.projectDir, "production.json");
    const nginxDir = join(host.projectDir, "nginx.d");
    writeFileSync(config, '{"db":"old-cluster"}\n');
    mkdirSync(nginxDir, { recursive: true });
    writeFileSync(join(nginxDir, "site.conf"), "server {}\n");
    const cmd = composeUpCommand({
      dir: host.projectDir,
      scriptsRoot: host.scriptsRoot,
      watch: { backend: ["production.json", "missing-ca.crt"], nginx: ["nginx.d"] },
    });
    const first = await host.run(cmd);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.restarted).toEqual([]);
    expect(host.composeCalls().filter((c) => c.startsWith("compose restart"))).toEqual([]);

    // A database cutover rewrites production.json by rename, as the file writers do: the backend is restarted.
    host.resetCalls();
    writeFileSync(`${config}.tmp`, '{"db":"restored-cluster"}\n');
    renameSync(`${config}.tmp`, config);
    const second = await host.run(cmd);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.restarted).toEqual(["backend"]);
    expect(host.composeCalls().filter((c) => c.startsWith("compose restart"))).toEqual(["compose restart backend"]);

    // Nothing changed: nothing restarted. A new file in a watched directory, or a watched path appearing: restarted.
    host.resetCalls();
    expect((await host.run(cmd)).json.restarted).toEqual([]);
    writeFileSync(join(nginxDir, "extra.conf"), "# more\n");
    writeFileSync(join(host.projectDir, "missing-ca.crt"), "CA\n");
    const fourth = await host.run(cmd);
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(fourth.json.restarted).toEqual(["backend", "nginx"]);
  });

  it("a service that does not come back after its restart fails the run (69) and its change counts as not applied", async () => {
    const config = join(host.projectDir, "production.json");
    const cmd = composeUpCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot, watch: { backend: ["production.json"] } });
    writeFileSync(config, '{"v":1}\n');
    expect((await host.run(cmd)).code).toBe(0);
    writeFileSync(config, '{"v":2}\n');
    // "broken": the container exits as soon as it is started again.
    host.setContainers({ ...allHealthy(), backend: "running|healthy|broken" });
    const failed = await host.run(cmd);
    expect(failed.code).toBe(69);
    expect(failed.json).toMatchObject({ status: "error", exit_code: 69, unhealthy: ["backend"] });
    // Once the backend can start, the next run restarts it again: the failed run did not record the new file as applied.
    host.setContainers(allHealthy());
    host.resetCalls();
    const retried = await host.run(cmd);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json.restarted).toEqual(["backend"]);
  });

  it("refuses a watch of an unknown service (65) or a path outside the project (64) before anything runs", async () => {
    const unknown = await host.run(`${host.scriptsRoot}/ops/compose-up.sh --dir ${shellQuote(host.projectDir)} --watch db=production.json`);
    expect(unknown.code).toBe(65);
    expect(String(unknown.json.error)).toContain("unknown service 'db'");
    const outside = await host.run(`${host.scriptsRoot}/ops/compose-up.sh --dir ${shellQuote(host.projectDir)} --watch backend=../etc/passwd`);
    expect(outside.code).toBe(64);
    const twice = await host.run(`${host.scriptsRoot}/ops/compose-up.sh --dir ${shellQuote(host.projectDir)} --watch backend=a.json --watch backend=b.json`);
    expect(twice.code).toBe(64);
    expect(String(twice.json.error)).toContain("--watch backend given twice");
    expect(host.composeCalls().filter((c) => c.startsWith("compose up"))).toEqual([]);
  });
});

describe("graceful shutdown", () => {
  it("stops the services one by one in the given order with the stop timeout, then runs down", async () => {
    const stopOrder = ["nginx", "frontend", "admin-frontend", "backend"];
    const cmd = composeShutdownCommand({ dir: host.projectDir, stopOrder, stopTimeoutSeconds: 20, scriptsRoot: host.scriptsRoot });
    const r = await host.run(cmd);
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual([...stopOrder.map((s) => `compose stop -t 20 ${s}`), "compose down --timeout 20"]);
    expect(r.json).toMatchObject({ status: "ok", stopped: stopOrder, unordered: [], down: true });
    expect(host.containers()).toEqual({});
  });

  it("follows whatever order it is given (the order comes from the inventory, not from the script)", async () => {
    const stopOrder = ["admin-frontend", "nginx", "backend", "frontend"];
    const r = await host.run(composeShutdownCommand({ dir: host.projectDir, stopOrder, scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual([...stopOrder.map((s) => `compose stop -t 30 ${s}`), "compose down --timeout 30"]);
  });

  it("reports services missing from the order, which only down stops", async () => {
    const r = await host.run(composeShutdownCommand({ dir: host.projectDir, stopOrder: ["nginx"], scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ stopped: ["nginx"], unordered: ["backend", "frontend", "admin-frontend"] });
    expect(host.composeCalls()).toEqual(["compose stop -t 30 nginx", "compose down --timeout 30"]);
  });

  it("stops nothing when one service of the order is not in the compose file", async () => {
    const cmd = composeShutdownCommand({ dir: host.projectDir, stopOrder: ["nginx", "frontend", "api"], scriptsRoot: host.scriptsRoot });
    const r = await host.run(cmd);
    expect(r.code).toBe(65);
    expect(r.json.error).toBe(`unknown service 'api' (services in ${host.projectDir}/docker-compose.yml: backend frontend admin-frontend nginx)`);
    expect(host.composeCalls()).toEqual([]);
    expect(host.containers()).toEqual(Object.fromEntries(KRO_SERVICES.map((s) => [s, { state: "running", health: "healthy" }])));
  });
});

describe("one service", () => {
  it("stops only that service", async () => {
    const r = await host.run(composeServiceCommand({ dir: host.projectDir, action: "stop", service: "backend", scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual(["compose stop -t 30 backend", "compose ps --all --format json"]);
    expect(r.json).toMatchObject({ action: "stop", service: "backend", state: "exited", health: "", waited: false });
    const c = host.containers();
    expect(c.backend.state).toBe("exited");
    expect([c.frontend.state, c["admin-frontend"].state, c.nginx.state]).toEqual(["running", "running", "running"]);
  });

  it("starts a stopped service", async () => {
    host.setContainers({ ...allHealthy(), frontend: "exited||" });
    const r = await host.run(composeServiceCommand({ dir: host.projectDir, action: "start", service: "frontend", scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual(["compose start frontend", "compose ps --all --format json"]);
    expect(host.containers().frontend).toEqual({ state: "running", health: "healthy" });
  });

  it("restarts a service and waits until its health check passes", async () => {
    host.setContainers({ ...allHealthy(), nginx: "running|healthy|slow" });
    const cmd = composeServiceCommand({
      dir: host.projectDir,
      action: "restart",
      service: "nginx",
      wait: true,
      waitTimeoutSeconds: 60,
      stopTimeoutSeconds: 10,
      scriptsRoot: host.scriptsRoot,
    });
    const r = await host.run(cmd);
    expect(r.code, r.stderr).toBe(0);
    // The first look finds the health check still starting; the script polls again.
    expect(host.composeCalls()).toEqual(["compose restart -t 10 nginx", "compose ps --all --format json", "compose ps --all --format json"]);
    expect(r.json).toMatchObject({ action: "restart", service: "nginx", state: "running", health: "healthy", waited: true });
  });

  it("fails with 69 when the restarted service does not stay up", async () => {
    host.setContainers({ ...allHealthy(), backend: "running|healthy|broken" });
    const r = await host.run(
      composeServiceCommand({ dir: host.projectDir, action: "restart", service: "backend", wait: true, scriptsRoot: host.scriptsRoot }),
    );
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", service: "backend", state: "exited" });
    expect(r.json.error).toBe("backend is not running and healthy after restart (exited)");
  });

  it("passes the project name to every docker compose call", async () => {
    const r = await host.run(
      composeServiceCommand({ dir: host.projectDir, projectName: "kro-prod", action: "restart", service: "frontend", scriptsRoot: host.scriptsRoot }),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(host.calls().map((c) => c.args.join(" "))).toEqual([
      "compose version",
      "compose -p kro-prod config --services",
      "compose -p kro-prod restart -t 30 frontend",
      "compose -p kro-prod ps --all --format json",
    ]);
  });

  it("refuses an unknown service with 65 before calling docker compose stop", async () => {
    const r = await host.run(composeServiceCommand({ dir: host.projectDir, action: "stop", service: "redis", scriptsRoot: host.scriptsRoot }));
    expect(r.code).toBe(65);
    expect(String(r.json.error)).toMatch(/^unknown service 'redis'/);
    expect(host.composeCalls()).toEqual([]);
  });
});

describe("full recovery after a server restart", () => {
  it("starts exactly the services that did not come back and reports them", async () => {
    // After the reboot two containers did not auto-restart.
    host.setContainers({ backend: "exited||", frontend: "running|healthy|", "admin-frontend": "exited||", nginx: "running|healthy|" });
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, waitTimeoutSeconds: 60, scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual([
      "compose ps --all --format json",
      "compose up -d --wait --wait-timeout 60 --no-recreate backend admin-frontend",
      "compose ps --all --format json",
    ]);
    expect(r.json).toMatchObject({ status: "ok", started: ["backend", "admin-frontend"], restarted: [], unhealthy: [] });
    expect(r.json.before).toEqual([
      { service: "backend", state: "exited", health: "" },
      { service: "frontend", state: "running", health: "healthy" },
      { service: "admin-frontend", state: "exited", health: "" },
      { service: "nginx", state: "running", health: "healthy" },
    ]);
    expect((r.json.after as { state: string }[]).map((s) => s.state)).toEqual(["running", "running", "running", "running"]);
  });

  it("restarts a service that is running but unhealthy, and starts one whose container is gone", async () => {
    host.setContainers({ backend: "running|unhealthy|", frontend: "running|healthy|", nginx: "running|healthy|" });
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual([
      "compose ps --all --format json",
      "compose up -d --wait --wait-timeout 300 --no-recreate admin-frontend",
      "compose restart backend",
      "compose ps --all --format json",
    ]);
    expect(r.json).toMatchObject({ started: ["admin-frontend"], restarted: ["backend"], unhealthy: [] });
    expect((r.json.before as { state: string }[])[2]).toEqual({ service: "admin-frontend", state: "missing", health: "" });
  });

  it("changes nothing when every container came back by itself", async () => {
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }));
    expect(r.code, r.stderr).toBe(0);
    expect(host.composeCalls()).toEqual(["compose ps --all --format json"]);
    expect(r.json).toMatchObject({ started: [], restarted: [], unhealthy: [] });
  });

  it("reads the older compose ps output (one JSON array) the same way", async () => {
    host.setContainers({ ...allHealthy(), nginx: "exited||" });
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }), { FAKE_DOCKER_PS_FORMAT: "array" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ started: ["nginx"], unhealthy: [] });
  });

  it("exits 69 and names the services still down when starting them does not help", async () => {
    host.setContainers({ backend: "exited||broken", frontend: "exited||", "admin-frontend": "running|healthy|", nginx: "running|healthy|" });
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }));
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", exit_code: 69, started: ["backend", "frontend"], unhealthy: ["backend"] });
    expect(r.json.error).toBe("still not running and healthy: backend");
  });
});

describe("failures are clear and touch nothing", () => {
  it("a compose directory that does not exist: 66", async () => {
    const dir = join(host.root, "root/Kro/missing");
    const r = await host.run(composeRecoverCommand({ dir, scriptsRoot: host.scriptsRoot }));
    expect(r.code).toBe(66);
    expect(r.json).toMatchObject({ script: "compose-recover.sh", status: "error", exit_code: 66, error: `compose directory not found: ${dir}` });
    expect(r.stderr).toContain(`compose-recover.sh: error: compose directory not found: ${dir}`);
    expect(host.calls()).toEqual([]);
  });

  it("a directory without a compose file: 66", async () => {
    const dir = join(host.root, "root/empty dir");
    mkdirSync(dir, { recursive: true });
    const r = await host.run(composeUpCommand({ dir, scriptsRoot: host.scriptsRoot }));
    expect(r.code).toBe(66);
    expect(r.json.error).toBe(`no compose file (compose.yaml or docker-compose.yml) in ${dir}`);
  });

  it("a host without the docker compose plugin: 69 (the real docker client, which has no compose)", async () => {
    const r = await host.run(composeUpCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }), {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    });
    expect(r.code).toBe(69);
    expect(r.json.error).toBe("the docker compose plugin is not installed (docker compose version failed)");
  });

  const script = (name: string) => shellQuote(`${host.scriptsRoot}/ops/${name}`);
  it.each([
    ["compose-service.sh", (d: string) => `--dir ${d} reload nginx`, "unknown action: reload (expected stop, start or restart)"],
    ["compose-service.sh", (d: string) => `--dir ${d} restart`, "expected ACTION SERVICE, got 1 arguments"],
    ["compose-service.sh", (d: string) => `--dir ${d} --wait stop nginx`, "--wait applies to start and restart, not stop"],
    ["compose-service.sh", (d: string) => `--dir ${d} restart 'nginx;reboot'`, "invalid service name: nginx;reboot"],
    ["compose-shutdown.sh", (d: string) => `--dir ${d} --timeout soon -- nginx`, "--timeout must be a non-negative integer, got: soon"],
    ["compose-shutdown.sh", (d: string) => `--dir ${d}`, "no services given: pass the stop order"],
    ["compose-shutdown.sh", (d: string) => `--dir ${d} nginx backend nginx`, "service listed twice in the stop order: nginx"],
    ["compose-recover.sh", (d: string) => `--dir ${d} --wait-timeout 0`, "--wait-timeout must be a positive integer, got: 0"],
    ["compose-up.sh", () => `--project-directory /srv`, "unknown argument: --project-directory"],
    ["compose-up.sh", () => `--dir relative/path`, "--dir must be an absolute path, got: relative/path"],
    ["compose-up.sh", (d: string) => `--dir ${d} --project-name KRO`, "invalid --project-name: KRO (lowercase letters, digits, '-' and '_')"],
  ])("%s %s: exit 64 with a usage error", async (name, args, message) => {
    const r = await host.run(`bash ${script(name)} ${args(shellQuote(host.projectDir))}`);
    expect(r.code).toBe(64);
    expect(r.json).toMatchObject({ script: name, status: "error", exit_code: 64, error: message });
    expect(host.composeCalls()).toEqual([]);
  });

  it("--help prints the usage line and exits 0", async () => {
    const r = await host.ssh.sshExec(`bash ${script("compose-service.sh")} --help`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: compose-service\.sh --dir DIR .*stop\|start\|restart SERVICE\n$/);
  });

  it("writes the result line to RESULT_FILE too", async () => {
    const resultFile = join(host.root, "result.json");
    const r = await host.run(composeRecoverCommand({ dir: host.projectDir, scriptsRoot: host.scriptsRoot }), { RESULT_FILE: resultFile });
    expect(r.code).toBe(0);
    const check = await host.ssh.sshExec(`cat ${shellQuote(resultFile)}`);
    expect(JSON.parse(check.stdout)).toEqual(r.json);
  });
});
