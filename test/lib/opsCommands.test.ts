// lib/opsCommands.ts: the exact command lines the Pulumi command resources run, how they quote arguments (checked by
// letting real bash and dash parse them back), and the option checks that reject bad stack config before anything runs.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  certIssueCommand,
  certRenewCommand,
  composeRecoverCommand,
  composeServiceCommand,
  composeShutdownCommand,
  composeUpCommand,
  shellJoin,
  shellQuote,
} from "../../lib/opsCommands";
import { RenderInputError } from "../../renderers/renderInputError";

const HOSTILE = [
  "",
  "a b",
  "it's",
  "'",
  "''",
  '"double"',
  "$(reboot)",
  "`id`",
  "${HOME}",
  "; rm -rf /",
  "a && b || c",
  "*",
  "?",
  "[a]",
  "~root",
  "{a,b}",
  "!event",
  "back\\slash",
  "new\nline",
  "tab\tand\rcr",
  "-n",
  "--force",
  "#comment",
  "a=b",
  "émoji ✓",
  "trailing\\",
];

/** What a shell makes of a command line's words: the argv, read back through printf with NUL separators. */
function parseWith(shell: "bash" | "dash", words: string): string[] {
  const r = spawnSync(shell, ["-c", `printf '%s\\0' ${words}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${shell} failed: ${r.stderr}`);
  return r.stdout.split("\0").slice(0, -1);
}

/** The argv a command line from opsCommands hands to bash (after `bash`). */
function argvOf(command: string): string[] {
  expect(command.startsWith("bash ")).toBe(true);
  return parseWith("bash", command.slice("bash ".length));
}

describe("shellQuote", () => {
  it("leaves plain words as they are", () => {
    for (const w of ["nginx", "admin-frontend", "/opt/lazarus/scripts/ops/compose-up.sh", "300", "--wait", "ops@kro.test", "https://acme.test/dir", "a=b"]) {
      expect(shellQuote(w)).toBe(w);
    }
  });

  it("quotes with single quotes, writing an embedded quote as '\\''", () => {
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("$(reboot)")).toBe("'$(reboot)'");
  });

  it.each(["bash", "dash"] as const)("every hostile string reads back unchanged in %s", (shell) => {
    expect(parseWith(shell, shellJoin(HOSTILE))).toEqual(HOSTILE);
    for (const s of HOSTILE) expect(parseWith(shell, shellQuote(s))).toEqual([s]);
  });

  it("rejects NUL, which no argument can carry", () => {
    expect(() => shellQuote("a\0b")).toThrow(/cannot contain a NUL byte/);
  });
});

describe("the command lines", () => {
  const dir = "/root/Kro/kro-devops/production";

  it("compose up", () => {
    expect(composeUpCommand({ dir })).toBe("bash /opt/lazarus/scripts/ops/compose-up.sh --dir /root/Kro/kro-devops/production");
    expect(composeUpCommand({ dir, projectName: "kro", waitTimeoutSeconds: 600, scriptsRoot: "/srv/lazarus/" })).toBe(
      "bash /srv/lazarus/ops/compose-up.sh --dir /root/Kro/kro-devops/production --project-name kro --wait-timeout 600",
    );
  });

  it("graceful shutdown passes the stop order as arguments after --", () => {
    expect(composeShutdownCommand({ dir, stopOrder: ["nginx", "frontend", "admin-frontend", "backend"], stopTimeoutSeconds: 45 })).toBe(
      "bash /opt/lazarus/scripts/ops/compose-shutdown.sh --dir /root/Kro/kro-devops/production --timeout 45 -- nginx frontend admin-frontend backend",
    );
  });

  it("one service", () => {
    expect(composeServiceCommand({ dir, action: "restart", service: "backend", wait: true, waitTimeoutSeconds: 120, stopTimeoutSeconds: 10 })).toBe(
      "bash /opt/lazarus/scripts/ops/compose-service.sh --dir /root/Kro/kro-devops/production --timeout 10 --wait --wait-timeout 120 -- restart backend",
    );
    expect(composeServiceCommand({ dir, action: "stop", service: "nginx" })).toBe(
      "bash /opt/lazarus/scripts/ops/compose-service.sh --dir /root/Kro/kro-devops/production -- stop nginx",
    );
  });

  it("recovery", () => {
    expect(composeRecoverCommand({ dir, waitTimeoutSeconds: 900 })).toBe(
      "bash /opt/lazarus/scripts/ops/compose-recover.sh --dir /root/Kro/kro-devops/production --wait-timeout 900",
    );
  });

  it("certificate issuance and renewal", () => {
    expect(
      certIssueCommand({
        domains: ["kro.example.org", "www.kro.example.org"],
        email: "ops@example.org",
        webroot: "/var/www/certbot",
        composeDir: dir,
        nginxService: "nginx",
        acmeServer: "https://acme-staging-v02.api.letsencrypt.org/directory",
      }),
    ).toBe(
      "bash /opt/lazarus/scripts/ops/cert-issue.sh --domain kro.example.org --domain www.kro.example.org --email ops@example.org" +
        " --webroot /var/www/certbot --compose-dir /root/Kro/kro-devops/production --nginx-service nginx" +
        " --server https://acme-staging-v02.api.letsencrypt.org/directory",
    );
    expect(certRenewCommand({ force: true, composeDir: dir, nginxService: "nginx" })).toBe(
      "bash /opt/lazarus/scripts/ops/cert-renew.sh --compose-dir /root/Kro/kro-devops/production --nginx-service nginx --force",
    );
    expect(
      certRenewCommand({
        force: false,
        composeDir: dir,
        nginxService: "nginx",
        projectName: "kro",
        certName: "kro.example.org",
        certbotDirs: { configDir: "/etc/le" },
        nginxWaitTimeoutSeconds: 60,
      }),
    ).toBe(
      "bash /opt/lazarus/scripts/ops/cert-renew.sh --compose-dir /root/Kro/kro-devops/production --nginx-service nginx --project-name kro" +
        " --cert-name kro.example.org --config-dir /etc/le --wait-timeout 60",
    );
  });

  it("paths with spaces, quotes and dollars reach the script as single, unchanged arguments", () => {
    const odd = "/root/Kro/it's a $(dir)";
    expect(argvOf(composeShutdownCommand({ dir: odd, stopOrder: ["nginx", "backend"], scriptsRoot: "/opt/my scripts" }))).toEqual([
      "/opt/my scripts/ops/compose-shutdown.sh", "--dir", odd, "--", "nginx", "backend",
    ]);
    expect(argvOf(certIssueCommand({ domains: ["kro.test"], email: "o'neil@kro.test", webroot: `${odd}/www`, composeDir: odd, nginxService: "nginx" }))).toEqual([
      "/opt/lazarus/scripts/ops/cert-issue.sh", "--domain", "kro.test", "--email", "o'neil@kro.test", "--webroot", `${odd}/www`,
      "--compose-dir", odd, "--nginx-service", "nginx",
    ]);
  });
});

/** "<renderer>: <problem>" of the RenderInputError a builder throws: the function's name, then the option's problem. */
function refusal(build: () => string): string {
  try {
    build();
  } catch (e) {
    expect(e).toBeInstanceOf(RenderInputError);
    const { renderer, problems } = e as RenderInputError;
    expect(problems).toHaveLength(1);
    return `${renderer}: ${problems[0]}`;
  }
  throw new Error("expected the builder to refuse its options");
}

describe("option checks", () => {
  const dir = "/root/Kro/kro-devops/production";
  const hostileServices = ["nginx; reboot", "$(id)", "`id`", "-rf", "../nginx", "nginx backend", "", "nginx\n", "ngïnx", "'nginx'"];

  it.each(hostileServices)("rejects the service name %j everywhere a service is taken", (bad) => {
    const expected = `is not a compose service name (letters, digits, '_', '.', '-') (example: backend)`;
    expect(refusal(() => composeServiceCommand({ dir, action: "restart", service: bad }))).toContain(`composeServiceCommand: service: ${JSON.stringify(bad)} ${expected}`);
    expect(refusal(() => composeShutdownCommand({ dir, stopOrder: ["nginx", bad] }))).toContain(`composeShutdownCommand: stopOrder[1]: ${JSON.stringify(bad)} ${expected}`);
    expect(refusal(() => certRenewCommand({ force: true, composeDir: dir, nginxService: bad }))).toContain(`certRenewCommand: nginxService: ${JSON.stringify(bad)} ${expected}`);
  });

  const cases: [string, () => string, string][] = [
    ["relative dir", () => composeUpCommand({ dir: "Kro/production" }), 'composeUpCommand: dir: "Kro/production" is not an absolute path without control characters (example: /root/Kro/kro-devops/production)'],
    ["dir with a newline", () => composeRecoverCommand({ dir: "/root/a\nb" }), 'composeRecoverCommand: dir: "/root/a\\nb" is not an absolute path'],
    ["upper-case project", () => composeUpCommand({ dir, projectName: "KRO" }), 'composeUpCommand: projectName: "KRO" is not a compose project name'],
    ["watch path outside the project", () => composeUpCommand({ dir, watch: { backend: ["../secrets"] } }), 'composeUpCommand: watch.backend: "../secrets" is not a path relative to the project directory (example: monitoring/prometheus)'],
    ["watch with no paths", () => composeUpCommand({ dir, watch: { backend: [] } }), "composeUpCommand: watch.backend: [] is not a non-empty list of paths"],
    ["zero wait timeout", () => composeUpCommand({ dir, waitTimeoutSeconds: 0 }), "composeUpCommand: waitTimeoutSeconds: 0 is not a whole number of seconds >= 1 (example: 300)"],
    ["fractional timeout", () => composeShutdownCommand({ dir, stopOrder: ["nginx"], stopTimeoutSeconds: 1.5 }), "composeShutdownCommand: stopTimeoutSeconds: 1.5 is not a whole number of seconds >= 0"],
    ["empty stop order", () => composeShutdownCommand({ dir, stopOrder: [] }), "composeShutdownCommand: stopOrder: [] is not a non-empty list of services"],
    ["repeated service", () => composeShutdownCommand({ dir, stopOrder: ["nginx", "backend", "nginx"] }), 'composeShutdownCommand: stopOrder[2]: "nginx" is not a service not already in the order'],
    ["unknown action", () => composeServiceCommand({ dir, action: "reload" as "restart", service: "nginx" }), 'composeServiceCommand: action: "reload" is not one of stop, start, restart'],
    ["wait with stop", () => composeServiceCommand({ dir, action: "stop", service: "nginx", wait: true }), "composeServiceCommand: wait: true is not allowed with stop"],
    ["wait timeout without wait", () => composeServiceCommand({ dir, action: "start", service: "nginx", waitTimeoutSeconds: 60 }), "composeServiceCommand: waitTimeoutSeconds: 60 is not used without wait: true"],
    ["stop timeout on start", () => composeServiceCommand({ dir, action: "start", service: "nginx", stopTimeoutSeconds: 5 }), "composeServiceCommand: stopTimeoutSeconds: 5 is not set for a start"],
    ["relative scripts root", () => composeRecoverCommand({ dir, scriptsRoot: "opt/lazarus" }), 'composeRecoverCommand: scriptsRoot: "opt/lazarus" is not an absolute path'],
    ["no domains", () => certIssueCommand({ domains: [], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx" }), "certIssueCommand: domains: [] is not a non-empty list of domain names"],
    ["upper-case domain", () => certIssueCommand({ domains: ["KRO.test"], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: domains[0]: "KRO.test" is not a lowercase DNS name (example: kro.example.org)'],
    ["wildcard domain", () => certIssueCommand({ domains: ["*.kro.test"], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: domains[0]: "*.kro.test" is not a lowercase DNS name'],
    ["domain with a command", () => certIssueCommand({ domains: ["kro.test;id"], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: domains[0]: "kro.test;id" is not a lowercase DNS name'],
    ["repeated domain", () => certIssueCommand({ domains: ["kro.test", "kro.test"], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: domains[1]: "kro.test" is not a domain not already listed'],
    ["bad email", () => certIssueCommand({ domains: ["kro.test"], email: "ops", webroot: "/w", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: email: "ops" is not an email address (example: ops@example.org)'],
    ["relative webroot", () => certIssueCommand({ domains: ["kro.test"], email: "o@kro.test", webroot: "www", composeDir: dir, nginxService: "nginx" }), 'certIssueCommand: webroot: "www" is not an absolute path'],
    ["http ACME server", () => certIssueCommand({ domains: ["kro.test"], email: "o@kro.test", webroot: "/w", composeDir: dir, nginxService: "nginx", acmeServer: "http://acme.test/dir" }), 'certIssueCommand: acmeServer: "http://acme.test/dir" is not an https:// ACME directory URL'],
    ["ACME server with a space", () => certRenewCommand({ force: true, composeDir: dir, nginxService: "nginx", acmeServer: "https://acme.test/dir --x" }), 'certRenewCommand: acmeServer: "https://acme.test/dir --x" is not an https:// ACME directory URL'],
    ["relative certbot dir", () => certRenewCommand({ force: true, composeDir: dir, nginxService: "nginx", certbotDirs: { logsDir: "logs" } }), 'certRenewCommand: certbotDirs.logsDir: "logs" is not an absolute path'],
    ["force not a boolean", () => certRenewCommand({ force: "yes" as unknown as boolean, composeDir: dir, nginxService: "nginx" }), 'certRenewCommand: force: "yes" is not a boolean (example: true)'],
    ["zero nginx wait", () => certRenewCommand({ force: true, composeDir: dir, nginxService: "nginx", nginxWaitTimeoutSeconds: 0 }), "certRenewCommand: nginxWaitTimeoutSeconds: 0 is not a whole number of seconds >= 1"],
    ["bad cert name", () => certRenewCommand({ force: true, composeDir: dir, nginxService: "nginx", certName: "../etc" }), 'certRenewCommand: certName: "../etc" is not a certbot lineage name'],
  ];
  it.each(cases)("%s", (_name, build, message) => {
    expect(refusal(build)).toContain(message);
  });
});
