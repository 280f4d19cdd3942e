// Software on an SSH-reachable host: Lazarus's scripts, rendered files (secrets among them) and the commands that
// act on them. Every step is a `@pulumi/command` resource, so `pulumi preview` lists it and state records it ran.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostPreflightCommand, waitForCloudInitCommand, writeFileCommand } from "../lib/hostCommands";
import { HOST_LAYOUT } from "../lib/hostLayout";
import { recordRenderedFile } from "../lib/renderedFiles";
import { hostProvisions, type HostNeeds } from "../renderers/cloudInit";
import type { Host } from "./host";

/** Where the scripts/ folder lands on every host. */
/** Where the scripts/ folder lands on every host (one home: lib/hostLayout.ts). */
export const REMOTE_SCRIPTS_ROOT = HOST_LAYOUT.scriptsRoot;
export const LOCAL_SCRIPTS_DIR = join(__dirname, "..", "scripts");

export interface HostFileSpec {
  /** Absolute path on the host. */
  path: string;
  content: pulumi.Input<string>;
  mode: "0600" | "0640" | "0644" | "0755";
  /** Content is a secret: sent only over the SSH session's stdin, never logged, never written to local disk. */
  secret: boolean;
}

export interface HostSoftwareArgs {
  /** Platform name, for the offline plan's --out listing. */
  platform: string;
  /** A new machine (host.machineId) re-runs every step. */
  host: Host;
  /** What the files and later commands need from first boot: a droplet's cloud-init provides it, an existing server is checked. */
  needs: HostNeeds;
  files: HostFileSpec[];
}

/**
 * Inputs every command Lazarus runs on a host carries. `addPreviousOutputInEnv: false`: on an update pulumi-command
 * 1.2.1 sends the previous stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR through SSH `setenv`, which an sshd without
 * a matching AcceptEnv (Debian's default accepts only LANG and LC_*) refuses with two warnings per update; no script
 * reads them (test/engine/goodgo-existing-host.test.ts).
 */
export const HOST_COMMAND_INPUTS = { addPreviousOutputInEnv: false } as const;

/** Content hash of the local scripts folder, so editing a script re-ships the folder. */
export function scriptsDigest(dir = LOCAL_SCRIPTS_DIR): string {
  const hash = createHash("sha256");
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else hash.update(relative(dir, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex");
}

/**
 * What a file's writer does: its write command (path, mode, owner) and the content. Under pulumi-command 1.2.1 a change
 * of either re-runs the writer (see the writer below), and every run replaces the file root-owned with its mode, so a
 * step that hands the file to a container user or restarts what mounts it must re-run on exactly this.
 * A secret file's digest is itself a secret: a plain sha256 of a low-entropy secret (a password file) could be
 * brute-forced from the plan or the state. As a secret Output the engine keeps it encrypted in state and prints
 * [secret], yet still compares the values, so a change still re-runs its dependents. (An HMAC would need a key stored
 * somewhere and would add nothing once the digest is encrypted.)
 */
function fileDigest(writeCommand: string, file: HostFileSpec): pulumi.Output<string> {
  // A provider output that is absent (undefined) reaches the writer as an empty stdin, so it digests as empty.
  const digest = pulumi
    .output(file.content)
    .apply((content) => createHash("sha256").update(writeCommand).update("\0").update(content ?? "").digest("hex"));
  return file.secret ? pulumi.secret(digest) : digest;
}

/** The resource name of the command that writes `path` on the host of the HostSoftware named `softwareName`. */
export function fileWriterName(softwareName: string, path: string): string {
  return `${softwareName}-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

export class HostSoftware extends pulumi.ComponentResource {
  /** Resources after which the host has the scripts and every file: later commands depend on these. */
  readonly installed: pulumi.Resource[];
  /**
   * The scripts copied and the host checked, before any file is written: a step whose output a file's content is
   * composed from (a restore naming the database a .env then points at) waits for these only.
   */
  readonly prepared: pulumi.Resource[];
  /**
   * Per file path, a digest of what its writer writes (see fileDigest): a step that acts on files triggers on the
   * digests of exactly those files, so it re-runs whenever one of them is written again.
   */
  readonly fileDigests: ReadonlyMap<string, pulumi.Output<string>>;
  private readonly digests = new Map<string, pulumi.Output<string>>();
  private readonly site: {
    name: string;
    platform: string;
    connection: command.types.input.remote.ConnectionArgs;
    machineId: pulumi.Input<string>;
    after: pulumi.Resource;
  };

  constructor(name: string, args: HostSoftwareArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:host:HostSoftware", name, {}, opts);
    this.fileDigests = this.digests;
    const child = { parent: this };
    const { connection, machineId } = args.host;

    // A droplet is ready for software once cloud-init has finished. An existing server had no cloud-init: a preflight
    // checks it has what cloud-init would have installed. The preflight is one of the scripts, so there the scripts
    // (whose copy needs nothing but SSH) go first.
    const cloudInitDone =
      args.host.firstBoot === "cloud-init"
        ? new command.remote.Command(
            `${name}-first-boot`,
            { ...HOST_COMMAND_INPUTS, connection, create: waitForCloudInitCommand(), triggers: [machineId] },
            { ...child, dependsOn: args.host.ready },
          )
        : undefined;

    const digest = scriptsDigest();
    const copy = new command.remote.CopyToRemote(
      `${name}-scripts`,
      {
        connection,
        // The trailing slash copies the folder's contents INTO remotePath. Without it the provider (sftpCopy in
        // pulumi-command 1.2.1) puts the folder itself there, /opt/lazarus/scripts/scripts/..., and every command
        // that calls /opt/lazarus/scripts/ops/... finds nothing.
        source: new pulumi.asset.FileArchive(`${LOCAL_SCRIPTS_DIR}/`),
        remotePath: REMOTE_SCRIPTS_ROOT,
        triggers: [machineId, digest],
      },
      { ...child, dependsOn: cloudInitDone ? [cloudInitDone] : args.host.ready },
    );
    // The SFTP copy does not carry the executable bit everywhere; set it explicitly.
    const scriptsReady = new command.remote.Command(
      `${name}-scripts-mode`,
      {
        ...HOST_COMMAND_INPUTS,
        connection,
        create: `set -eu; find ${REMOTE_SCRIPTS_ROOT} -type f -name '*.sh' -exec chmod 0755 {} +`,
        triggers: [machineId, digest],
      },
      { ...child, dependsOn: [copy] },
    );
    const hostChecked =
      cloudInitDone ??
      new command.remote.Command(
        `${name}-preflight`,
        { ...HOST_COMMAND_INPUTS, connection, create: hostPreflightCommand(hostProvisions(args.needs), REMOTE_SCRIPTS_ROOT), triggers: [machineId] },
        { ...child, dependsOn: [scriptsReady] },
      );

    this.site = { name, platform: args.platform, connection, machineId, after: hostChecked };
    const fileWriters = args.files.map((f) => this.writer(f));
    // The preflight comes after the scripts: what waits for them must wait for it too.
    this.prepared = [scriptsReady, ...(cloudInitDone ? [] : [hostChecked])];
    this.installed = [...this.prepared, ...fileWriters];
    this.registerOutputs({});
  }

  /**
   * Writes files after construction, like the constructor's: for content composed from a step that itself waits for
   * `prepared` (a restore whose result names the database a .env points at). Returns the writers.
   */
  writeFiles(files: HostFileSpec[]): pulumi.Resource[] {
    return files.map((f) => this.writer(f));
  }

  private writer(f: HostFileSpec): command.remote.Command {
    const { name, platform, connection, machineId, after } = this.site;
    recordRenderedFile({ platform, host: name, path: f.path, mode: f.mode, secret: f.secret, content: f.content });
    const write = writeFileCommand(f.path, f.mode);
    this.digests.set(f.path, fileDigest(write, f));
    // A changed content (stdin) is an update, and the provider's Update runs `create` again when no `update` is set
    // (pulumi-command 1.2.1 provider/pkg/provider/remote/commandController.go:76-80): the writer rewrites the file
    // without the digest among its own triggers (which would replace it: common/inputs.go:10, replaceOnChanges).
    return new command.remote.Command(
      fileWriterName(name, f.path),
      {
        ...HOST_COMMAND_INPUTS,
        connection,
        create: write,
        stdin: f.secret ? pulumi.secret(f.content) : f.content,
        triggers: [machineId],
        ...(f.secret ? { logging: "none" as const } : {}),
      },
      { parent: this, dependsOn: [after], ...(f.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) },
    );
  }
}

export interface HostCommandArgs {
  connection: command.types.input.remote.ConnectionArgs;
  create: string;
  /** Re-run when any of these change (e.g. file digests, image tag). */
  triggers?: pulumi.Input<unknown>[];
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /**
   * A one-shot step (a runbook operation, a recovery step such as a restore with cutover): it runs when first declared
   * and when its triggers change, never because its command text changed. Without this, a later change of the text
   * (a new script path, a changed default) is an update, which pulumi-command 1.2.1 runs as `create` again: an
   * operation or a cutover left in the stack file would repeat on an unrelated `pulumi up`.
   */
  once?: boolean;
}

/** What a one-shot step runs on an update: nothing but a line in the log saying why. */
export const ONCE_UPDATE = "echo 'already ran when first declared: a changed command text does not run it again'";

/** A command run on the host and recorded in state; new triggers run it again (and, unless `once`, a new command text). */
export function hostCommand(name: string, args: HostCommandArgs, parent: pulumi.Resource): command.remote.Command {
  return new command.remote.Command(
    name,
    { ...HOST_COMMAND_INPUTS, connection: args.connection, create: args.create, triggers: args.triggers ?? [], ...(args.once ? { update: ONCE_UPDATE } : {}) },
    { parent, dependsOn: args.dependsOn },
  );
}
