// Renders "#cloud-config" user-data for a compose host on a DigitalOcean Ubuntu 24.04 image: Docker Engine with the
// compose plugin, unattended security upgrades, certbot, an optional swap file, and the deploy directory (0750).
// Pure: typed data in, text out. Nothing secret belongs here: user-data is readable through the metadata service
// by any process on the droplet and is stored by the cloud provider; secrets are shipped separately over SSH with
// mode 0600. renderCloudInit refuses input that looks secret (see secretFindings).
//
// Docker source. Default "ubuntu": the docker.io and docker-compose-v2 packages from Ubuntu's own archive
// (noble/universe, with updates in noble-updates/noble-security). For a fresh DigitalOcean Ubuntu 24.04 droplet
// this is the robust choice: the packages come from the mirror DigitalOcean already configures, so first boot does
// not depend on a third-party repository and its signing key being reachable and unchanged, and
// unattended-upgrades (whose default origins are Ubuntu's) patches Docker with the rest of the system. The
// versions meet "Docker >= 24, Compose v2". "docker-apt" uses Docker's repository
// (newer releases, docker-compose-plugin) with the key pinned by fingerprint, for hosts that need newer features.

import { HOST_LAYOUT } from "../lib/hostLayout";
import { Document } from "yaml";
import { refuseProblems } from "./renderInputError";

const RENDERER = "cloud-init";

export interface CloudInitUser {
  name: string;
  groups?: string[];
  /** Passwordless sudo for this user. */
  sudo?: boolean;
  shell?: string;
  sshAuthorizedKeys?: string[];
}

export interface CloudInitFile {
  path: string;
  content: string;
  /** Octal string, default "0644". */
  permissions?: string;
  owner?: string;
}

export interface CloudInitInput {
  /** Directory the compose project is deployed to, created 0750 (e.g. /root/Kro/kro-devops/production). */
  deployDir: string;
  /** Owner of the deploy directory, "user:group". Default "root:root". */
  deployOwner?: string;
  /** Extra Debian/Ubuntu packages. */
  packages?: string[];
  users?: CloudInitUser[];
  /** Keys for the image's default user (root on DigitalOcean). */
  sshAuthorizedKeys?: string[];
  /** Non-secret files only; anything that looks like a secret is refused. */
  extraFiles?: CloudInitFile[];
  /** Default "UTC". */
  timezone?: string;
  /** Swap file size; absent or 0 means none. */
  swapSizeMb?: number;
  /** Docker packages from Ubuntu's archive (default) or Docker's apt repository. */
  dockerSource?: "ubuntu" | "docker-apt";
  /** Webroot certbot --webroot writes HTTP-01 challenges to (created 0755). Default /var/www/certbot. */
  acmeWebroot?: string;
  /** Default log rotation for every container (daemon.json), in case a service has none. Default 10m x 3. */
  dockerLogRotation?: { maxSize: string; maxFile: number };
  /** Disable SSH password logins (default true). */
  disablePasswordAuth?: boolean;
  /** Let the droplet reboot at this time when a security update needs it ("HH:MM"); absent means never. */
  autoRebootTime?: string;
  hostname?: string;
}

/** Docker's release signing key fingerprint (https://docs.docker.com/engine/install/ubuntu/). */
export const DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [
    /[A-Za-z0-9_]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)["']?\s*[:=]\s*["']?(?!(?:true|false|yes|no|null)\b)[^\s"'$]{4,}/i,
    "a password/secret/token assignment",
  ],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s:@\/]+:[^\s@\/]+@/i, "a URL with embedded credentials"],
  [/https:\/\/hooks\.slack\.com\/services\/\S+/, "a Slack webhook URL"],
  [/\bdop_v1_[a-f0-9]{20,}/, "a DigitalOcean token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an access key id"],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/, "a GitHub token"],
];
const SECRET_FILE_NAMES = /(^|\/)(\.env(\..*)?|production\.json|[^/]*\.key|[^/]*\.p12|[^/]*\.pfx|id_[a-z0-9]+|[^/]*-ca-certificate\.crt)$/;

/** What in a text looks like a secret (descriptions, not the matches themselves, so reports never echo a secret). */
export function secretFindings(text: string): string[] {
  return SECRET_PATTERNS.filter(([re]) => re.test(text)).map(([, what]) => what);
}

function inputProblems(input: CloudInitInput): string[] {
  const p: string[] = [];
  const absPath = /^\/[A-Za-z0-9._\/-]+$/;
  if (!absPath.test(input.deployDir) || input.deployDir.split("/").includes("..")) {
    p.push(`deployDir: "${input.deployDir}" is not an absolute path (example: /root/Kro/kro-devops/production)`);
  }
  if (input.deployOwner !== undefined && !/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/.test(input.deployOwner)) {
    p.push(`deployOwner: "${input.deployOwner}" is not user:group (example: deploy:deploy)`);
  }
  for (const pkg of input.packages ?? []) if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) p.push(`packages: "${pkg}" is not a package name`);
  for (const [i, u] of (input.users ?? []).entries()) {
    if (!/^[a-z_][a-z0-9_-]*$/.test(u.name)) p.push(`users[${i}].name: "${u.name}" is not a user name`);
  }
  const keys = [...(input.sshAuthorizedKeys ?? []), ...(input.users ?? []).flatMap((u) => u.sshAuthorizedKeys ?? [])];
  for (const k of keys) {
    if (!/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+\/=]+( .*)?$/.test(k)) {
      p.push(`sshAuthorizedKeys: "${k.slice(0, 24)}..." is not an OpenSSH public key line`);
    }
  }
  for (const [i, f] of (input.extraFiles ?? []).entries()) {
    if (!absPath.test(f.path)) p.push(`extraFiles[${i}].path: "${f.path}" is not an absolute path`);
    if (SECRET_FILE_NAMES.test(f.path)) p.push(`extraFiles[${i}].path: "${f.path}" names a secret file; ship it over SSH with mode 0600 instead`);
    if (f.permissions !== undefined && !/^0[0-7]{3}$/.test(f.permissions)) p.push(`extraFiles[${i}].permissions: "${f.permissions}" is not an octal mode (example: 0644)`);
    for (const what of secretFindings(f.content)) p.push(`extraFiles[${i}] (${f.path}) contains ${what}; secrets are shipped separately, never in user-data`);
  }
  if (input.timezone !== undefined && !/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(input.timezone)) p.push(`timezone: "${input.timezone}" is not a tz name (example: UTC)`);
  if (input.swapSizeMb !== undefined && !(Number.isInteger(input.swapSizeMb) && input.swapSizeMb >= 0)) p.push(`swapSizeMb: ${input.swapSizeMb} must be a whole number >= 0`);
  if (input.acmeWebroot !== undefined && !absPath.test(input.acmeWebroot)) p.push(`acmeWebroot: "${input.acmeWebroot}" is not an absolute path`);
  if (input.autoRebootTime !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(input.autoRebootTime)) p.push(`autoRebootTime: "${input.autoRebootTime}" is not HH:MM`);
  if (input.hostname !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(input.hostname)) p.push(`hostname: "${input.hostname}" is not a host name`);
  const lr = input.dockerLogRotation;
  if (lr && (!/^\d+[kmg]$/.test(lr.maxSize) || !(Number.isInteger(lr.maxFile) && lr.maxFile >= 1))) p.push(`dockerLogRotation: expected { maxSize: "10m", maxFile: 3 }`);
  return p;
}

const DEFAULT_ACME_WEBROOT = HOST_LAYOUT.acmeWebroot;

/**
 * The packages every compose host gets besides Docker's, in install order, with the command Lazarus's later steps run
 * from each (none: the host itself uses the package). The one list behind both first-boot paths: renderCloudInit
 * installs these on a droplet; on a server Lazarus did not boot, scripts/ops/host-preflight.sh checks for the commands.
 */
export const HOST_PACKAGES: readonly { name: string; command?: string; onlyForCertificates?: boolean }[] = [
  { name: "unattended-upgrades" },
  { name: "apt-listchanges" },
  // scripts/ops/cert-*.sh issue and renew certificates with it.
  { name: "certbot", command: "certbot", onlyForCertificates: true },
  { name: "ca-certificates" },
  { name: "curl" },
  // Every script's JSON result line (scripts/lib/common.sh).
  { name: "jq", command: "jq" },
];

/** What the software Lazarus ships on a host needs from the host's first boot. */
export interface HostNeeds {
  /** The compose project's directory. */
  deployDir: string;
  /** "user:group"; default root:root. */
  deployOwner?: string;
  /** Where certbot writes HTTP-01 challenges; absent when the platform issues no certificates. */
  acmeWebroot?: string;
  /**
   * The commands the platform's steps run in place of Docker (a PM2 host: node, npm, ...); absent: Docker and compose
   * v2. Only a server that already exists is checked for them (cloud-init installs Docker on a droplet).
   */
  runtimeCommands?: string[];
}

export interface HostDirectory {
  path: string;
  mode: "0750" | "0755";
  /** "user:group"; absent: whoever creates it. */
  owner?: string;
}

/** What first boot provides for those needs: commands on PATH ("docker": the engine and compose v2) and directories. */
export interface HostProvisions {
  commands: string[];
  directories: HostDirectory[];
}

export function hostProvisions(needs: HostNeeds): HostProvisions {
  const certificates = needs.acmeWebroot !== undefined;
  return {
    commands: [
      ...(needs.runtimeCommands ?? ["docker"]),
      ...HOST_PACKAGES.flatMap((p) => (p.command && (certificates || !p.onlyForCertificates) ? [p.command] : [])),
    ],
    directories: [
      // 0750: the project's secrets (.env, production.json) live here.
      { path: needs.deployDir, mode: "0750", owner: needs.deployOwner ?? "root:root" },
      ...(needs.acmeWebroot !== undefined
        ? [
            { path: needs.acmeWebroot, mode: "0755" as const },
            { path: "/etc/letsencrypt/renewal-hooks/deploy", mode: "0755" as const },
          ]
        : []),
    ],
  };
}

/** The user-data document. Throws RenderInputError listing every problem (including anything that looks secret). */
export function renderCloudInit(input: CloudInitInput): string {
  const problems = inputProblems(input);
  refuseProblems(RENDERER, problems);

  const dockerApt = input.dockerSource === "docker-apt";
  // Either set provides the `docker` command with the compose v2 plugin.
  const dockerPackages = dockerApt
    ? ["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"]
    : ["docker.io", "docker-compose-v2"];
  const packages = [...new Set([...dockerPackages, ...HOST_PACKAGES.map((p) => p.name), ...(input.packages ?? [])])];
  const log = input.dockerLogRotation ?? { maxSize: "10m", maxFile: 3 };
  const provisions = hostProvisions({ ...input, acmeWebroot: input.acmeWebroot ?? DEFAULT_ACME_WEBROOT });

  const unattended = [
    'APT::Periodic::Update-Package-Lists "1";',
    'APT::Periodic::Download-Upgradeable-Packages "1";',
    'APT::Periodic::Unattended-Upgrade "1";',
    'APT::Periodic::AutocleanInterval "7";',
    "",
  ].join("\n");
  const unattendedLocal = [
    "// Security updates only (the distribution default origins), applied daily.",
    'Unattended-Upgrade::Allowed-Origins { "${distro_id}:${distro_codename}-security"; "${distro_id}ESMApps:${distro_codename}-apps-security"; "${distro_id}ESM:${distro_codename}-infra-security"; };',
    'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
    input.autoRebootTime
      ? `Unattended-Upgrade::Automatic-Reboot "true";\nUnattended-Upgrade::Automatic-Reboot-Time "${input.autoRebootTime}";`
      : 'Unattended-Upgrade::Automatic-Reboot "false";',
    "",
  ].join("\n");
  // live-restore keeps containers running while an unattended upgrade restarts dockerd.
  const daemonJson = JSON.stringify(
    { "log-driver": "json-file", "log-opts": { "max-size": log.maxSize, "max-file": String(log.maxFile) }, "live-restore": true },
    null,
    2,
  ) + "\n";

  const doc: Record<string, unknown> = {};
  if (input.hostname) doc.hostname = input.hostname;
  doc.timezone = input.timezone ?? "UTC";
  doc.package_update = true;
  doc.package_upgrade = true;
  if (dockerApt) {
    doc.apt = {
      sources: {
        docker: {
          source: "deb [arch=amd64 signed-by=$KEY_FILE] https://download.docker.com/linux/ubuntu $RELEASE stable",
          keyid: DOCKER_APT_KEY_FINGERPRINT,
          keyserver: "keyserver.ubuntu.com",
        },
      },
    };
  }
  doc.packages = packages;
  if (input.disablePasswordAuth !== false) doc.ssh_pwauth = false;
  if (input.sshAuthorizedKeys?.length) doc.ssh_authorized_keys = [...input.sshAuthorizedKeys];
  if (input.users?.length) {
    doc.users = [
      "default",
      ...input.users.map((u) => {
        const o: Record<string, unknown> = { name: u.name, lock_passwd: true, shell: u.shell ?? "/bin/bash" };
        if (u.groups?.length) o.groups = u.groups.join(", ");
        if (u.sudo) o.sudo = "ALL=(ALL) NOPASSWD:ALL";
        if (u.sshAuthorizedKeys?.length) o.ssh_authorized_keys = [...u.sshAuthorizedKeys];
        return o;
      }),
    ];
  }
  if (input.swapSizeMb) {
    const bytes = input.swapSizeMb * 1024 * 1024;
    doc.swap = { filename: "/swapfile", size: bytes, maxsize: bytes };
  }
  doc.write_files = [
    { path: "/etc/apt/apt.conf.d/20auto-upgrades", content: unattended, permissions: "0644", owner: "root:root" },
    { path: "/etc/apt/apt.conf.d/52lazarus-unattended-upgrades", content: unattendedLocal, permissions: "0644", owner: "root:root" },
    { path: "/etc/docker/daemon.json", content: daemonJson, permissions: "0644", owner: "root:root" },
    ...(input.extraFiles ?? []).map((f) => ({
      path: f.path,
      content: f.content,
      permissions: f.permissions ?? "0644",
      owner: f.owner ?? "root:root",
      defer: true,
    })),
  ];
  doc.runcmd = [
    ["systemctl", "enable", "--now", "docker.service"],
    // daemon.json was written before the package created the service; restart so its log defaults apply.
    ["systemctl", "restart", "docker.service"],
    ["systemctl", "enable", "--now", "unattended-upgrades.service"],
    ...provisions.directories.map(({ path, mode, owner }) => {
      const [user, group] = owner?.split(":") ?? [];
      return ["install", "-d", "-m", mode, ...(owner ? ["-o", user, "-g", group] : []), path];
    }),
    ["sh", "-c", "docker version && docker compose version"],
  ];
  doc.final_message = `cloud-init finished after $UPTIME s: docker, compose plugin and ${input.deployDir} ready`;

  const text = "#cloud-config\n" + new Document(doc, { version: "1.1" }).toString({ lineWidth: 0 });
  const leaks = secretFindings(text);
  refuseProblems(RENDERER, leaks.map((w) => `rendered user-data contains ${w}`));
  return text;
}
