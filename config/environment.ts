// `lazarus:environment`: what every platform of a stack shares (region, VPC, project, who may SSH in, where alerts go).
// The DigitalOcean settings (region, project, vpc, sshKeys, adminCidrs) are needed only when some enabled platform
// declares DigitalOcean resources (its `needs()`); a stack of existing servers leaves them out, and the loader asks for
// each one that is missing when a platform needs it.
import { z } from "zod";
import { cidr, email, privateCidr, region, sshFingerprint } from "./primitives";

export const environmentSchema = z.strictObject({
  /** DigitalOcean region for every resource of the stack unless a platform overrides it. */
  region: region.optional(),
  /** The DigitalOcean project that groups the stack's resources. */
  project: z.strictObject({
    name: z.string().min(3, { message: "is too short for a project name (example: Lazarus prod)" }),
    environment: z.enum(["Production", "Staging", "Development"], {
      message: "is not a DigitalOcean project environment (example: Production; one of Production, Staging, Development)",
    }),
  }).optional(),
  /** The stack's own VPC; staging and prod never share one. */
  vpc: z.strictObject({ ipRange: privateCidr }).optional(),
  /** Who may reach SSH (22) and admin UIs. Never 0.0.0.0/0 on prod (checked in the loader). */
  adminCidrs: z.array(cidr).min(1, { message: "must list at least one admin CIDR (example: [203.0.113.10/32])" }).optional(),
  /** SSH keys (fingerprints or ids) already uploaded to DigitalOcean, installed on every droplet. */
  sshKeys: z.array(sshFingerprint).min(1, { message: "must list at least one SSH key fingerprint" }).optional(),
  /** User that command resources log in as. */
  sshUser: z.string().default("root"),
  alerts: z.strictObject({
    emails: z.array(email).min(1, { message: "must list at least one address (example: [oncall@example.org])" }),
    /** Slack channel for DigitalOcean monitor alerts; the webhook itself is the secret alertSlackWebhook. */
    slackChannel: z.string().regex(/^#[a-z0-9_-]+$/, { message: "is not a Slack channel (example: \"#sre-oncall\")" }).optional(),
  }),
  /**
   * The Kubernetes cluster of the platforms that need one (their `needs()`): a context of the kubeconfig, and the
   * kubeconfig file when it is not the default (~/.kube/config or KUBECONFIG). A path, never the file's content: the
   * credentials stay where kubectl keeps them, out of the stack file.
   */
  kubernetes: z
    .strictObject({
      context: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9@._:/-]*$/, { message: "is not a kubeconfig context name (example: waqiti-prod)" }),
      /** Absolute, so the plan is the same on every machine. */
      kubeconfig: z.string().regex(/^\/[^\0]*$/, { message: "is not an absolute path to a kubeconfig file (example: /etc/lazarus/kubeconfig-waqiti-prod.yaml)" }).optional(),
    })
    .optional(),
  /** Protect stateful resources (clusters, reserved IPs, hosts) from deletion. Always true on prod (checked in the loader). */
  protect: z.boolean().default(true),
});

export type EnvironmentConfig = z.infer<typeof environmentSchema>;

/** The DigitalOcean settings, all present: what the stack's VPC, project and droplets are declared with. */
export interface DigitalOceanSettings {
  region: string;
  project: NonNullable<EnvironmentConfig["project"]>;
  vpc: NonNullable<EnvironmentConfig["vpc"]>;
  sshKeys: string[];
  adminCidrs: string[];
}

const DIGITALOCEAN_EXAMPLES: Record<keyof DigitalOceanSettings, string> = {
  region: "region: fra1",
  project: "project: {name: Lazarus prod, environment: Production}",
  vpc: "vpc: {ipRange: 10.110.0.0/20}",
  sshKeys: 'sshKeys: ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]',
  adminCidrs: "adminCidrs: [203.0.113.10/32]",
};

/** The keys missing for DigitalOcean, each with an example, or the settings when all are there. */
export function digitalOceanSettings(env: EnvironmentConfig): { settings?: DigitalOceanSettings; missing: { key: string; example: string }[] } {
  const missing = (Object.keys(DIGITALOCEAN_EXAMPLES) as (keyof DigitalOceanSettings)[])
    .filter((k) => env[k] === undefined)
    .map((k) => ({ key: k, example: DIGITALOCEAN_EXAMPLES[k] }));
  if (missing.length) return { missing };
  const { region, project, vpc, sshKeys, adminCidrs } = env as Required<EnvironmentConfig>;
  return { settings: { region, project, vpc, sshKeys, adminCidrs }, missing };
}
