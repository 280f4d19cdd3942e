// A docker compose project on a host, as every compose platform runs it (KRO, GoodGo, and DBIS next):
//   files → prepare → recovery chains → TLS placeholder → compose up (watched mounts) → certificate → TLS activation
//   → runbook operations.
// Every step is a `@pulumi/command` resource, so `pulumi preview` lists it and state records it ran. The platform's plan
// decides every command line; this component only orders them and says what re-runs them.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { tlsActivateCommand, tlsBootstrapCommand } from "../lib/hostCommands";
import { HOST_LAYOUT } from "../lib/hostLayout";
import { certIssueCommand } from "../lib/opsCommands";
import type { HostNeeds } from "../renderers/cloudInit";
import type { Host } from "./host";
import { HostSoftware, hostCommand, type HostFileSpec } from "./hostSoftware";

/** One command of a recovery chain; `key` names its resource, so a chain's steps keep their names across runs. */
export interface ChainStep {
  key: string;
  command: string;
}

export interface ComposeDeploymentArgs {
  /** Platform name, for the offline plan's --out listing. */
  platform: string;
  /** Resource name prefix, e.g. "kro-prod": steps are `<prefix>-compose-up`, `<prefix>-op-<id>`, ... */
  prefix: string;
  host: Host;
  /** What the steps need on the machine (checked by the preflight on an existing server). */
  hostNeeds: HostNeeds;
  /** Every file of the project (rendered text, or secret Outputs), shipped by HostSoftware. */
  files: HostFileSpec[];
  /**
   * Run after the files land, before anything starts (links, handing secret files to container users); re-run on a new
   * machine and whenever one of the files at `rerunWhenWritten` (paths among `files`) is written again.
   */
  prepare?: { command: string; rerunWhenWritten: string[] };
  /**
   * Recovery chains run in order after prepare and before compose up, each step after the previous one; a step's
   * resource is `<prefix>-<label>-<key>`. Each chain's `run` (its label, plus what changes what it does, such as a
   * cutover) triggers its steps, so a new run carries them out again, and compose up, so the application comes back
   * after a chain stopped it.
   */
  recoveryChains?: { label: string; run: string; steps: ChainStep[] }[];
  /** `docker compose up -d --wait` (with --watch); re-runs on a new machine, a changed file, or these triggers. */
  up: { command: string; triggers?: pulumi.Input<unknown>[] };
  /** TLS through the host's certbot: a placeholder so nginx can start, the issued certificate, then the switch to it. */
  tls?: {
    certName: string;
    /** Common name of the placeholder certificate. */
    placeholderName: string;
    /** certbot issuance (lib/opsCommands certIssueCommand); re-runs when the domains change. */
    issueCommand: string;
    domains: string[];
    /** Restarts the edge so it reads the issued certificate. */
    restartEdgeCommand: string;
  };
  /**
   * What the certificate step also waits for, given compose up: a step declared outside that needs the project up and
   * must come before the issuance (DBIS's failover moves the public IP to this host only once its app is healthy).
   */
  beforeCertificate?: (composeUp: command.remote.Command) => pulumi.Resource[];
  /** Runbook operations: each runs once, when `pulumi up` first sees its id. */
  operations: { id: string; command: string }[];
  /**
   * Prefix of the operations' resource names (default `prefix`). Two deployments of one platform (a primary and a
   * standby) give the same one, so an operation moved to the other server keeps its URN and is not run again there.
   */
  operationPrefix?: string;
}

export type ComposeTls = NonNullable<ComposeDeploymentArgs["tls"]>;

/**
 * TLS for a compose project whose nginx service answers certbot's HTTP-01 challenges from the host's webroot: the
 * placeholder is named after the first domain, the certificate covers them all. Pure: plans call it.
 */
export function certbotTls(o: {
  certName: string;
  domains: string[];
  email: string;
  acmeServer?: string;
  composeDir: string;
  projectName?: string;
  edgeService: string;
  restartEdgeCommand: string;
}): ComposeTls {
  return {
    certName: o.certName,
    placeholderName: o.domains[0],
    domains: o.domains,
    issueCommand: certIssueCommand({
      domains: o.domains,
      email: o.email,
      webroot: HOST_LAYOUT.acmeWebroot,
      composeDir: o.composeDir,
      nginxService: o.edgeService,
      ...(o.projectName ? { projectName: o.projectName } : {}),
      certName: o.certName,
      acmeServer: o.acmeServer,
    }),
    restartEdgeCommand: o.restartEdgeCommand,
  };
}

export class ComposeDeployment extends pulumi.ComponentResource {
  readonly software: HostSoftware;
  readonly composeUp: command.remote.Command;
  /** After these the project runs with its real certificate: operations wait for them. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: ComposeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:host:ComposeDeployment", name, {}, opts);
    const { host, prefix } = args;
    const step = (stepName: string, create: string, triggers: pulumi.Input<unknown>[], dependsOn: pulumi.Input<pulumi.Resource>[], once = false) =>
      hostCommand(`${prefix}-${stepName}`, { connection: host.connection, create, triggers, dependsOn, once }, this);

    this.software = new HostSoftware(`${prefix}-software`, { platform: args.platform, host, needs: args.hostNeeds, files: args.files }, { parent: this });
    const installed = this.software.installed;
    // A rewritten file keeps its writer's id (an update), so what depends on a file triggers on its digest.
    const digests = this.software.fileDigests;

    let before: pulumi.Resource[] = [];
    if (args.prepare) {
      const digestOf = (path: string) => {
        const digest = digests.get(path);
        if (!digest) throw new Error(`${prefix}: prepare re-runs when ${path} is written, but no file has that path`);
        return digest;
      };
      before = [step("prepare", args.prepare.command, [host.machineId, ...args.prepare.rerunWhenWritten.map(digestOf)], installed)];
    }
    for (const chain of args.recoveryChains ?? []) {
      // Recovery steps run once per machine and per run of their chain: a later change of their text alone never
      // repeats a restore or a cutover, but a new run does (GoodGo's restore beside the live database becoming a
      // cutover keeps the step's name and changes `run`; as a text change alone it was a no-op update, and the
      // cutover never happened: test/engine/goodgo-existing-host.test.ts).
      for (const s of chain.steps) before = [step(`${chain.label}-${s.key}`, s.command, [host.machineId, chain.run], [...installed, ...before], true)];
    }

    const tls = args.tls;
    const placeholder = tls
      ? [step("tls-bootstrap", tlsBootstrapCommand({ tlsDir: HOST_LAYOUT.tlsDir, certName: tls.certName }, tls.placeholderName), [host.machineId], installed)]
      : [];

    this.composeUp = step(
      "compose-up",
      args.up.command,
      [host.machineId, ...(args.up.triggers ?? []), ...(args.recoveryChains ?? []).map((c) => c.run), ...digests.values()],
      [...installed, ...before, ...placeholder],
    );

    this.ready = [this.composeUp];
    if (tls) {
      const certificate = step("certificate", tls.issueCommand, [host.machineId, tls.domains.join(",")], [this.composeUp, ...(args.beforeCertificate?.(this.composeUp) ?? [])]);
      const paths = { tlsDir: HOST_LAYOUT.tlsDir, certName: tls.certName, letsencryptDir: HOST_LAYOUT.letsencryptDir };
      this.ready = [step("tls-activate", tlsActivateCommand(paths, tls.restartEdgeCommand), [host.machineId], [certificate])];
    }

    const opPrefix = args.operationPrefix ?? prefix;
    for (const op of args.operations) hostCommand(`${opPrefix}-op-${op.id}`, { connection: host.connection, create: op.command, triggers: [], dependsOn: this.ready, once: true }, this);
    this.registerOutputs({});
  }
}
