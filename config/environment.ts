// `lazarus:environment`: what every platform of a stack shares (region, VPC, project, who may SSH in, where alerts go).
import { z } from "zod";
import { cidr, email, privateCidr, region, sshFingerprint } from "./primitives";

export const environmentSchema = z.strictObject({
  /** DigitalOcean region for every resource of the stack unless a platform overrides it. */
  region,
  /** The DigitalOcean project that groups the stack's resources. */
  project: z.strictObject({
    name: z.string().min(3, { message: "is too short for a project name (example: Lazarus prod)" }),
    environment: z.enum(["Production", "Staging", "Development"], {
      message: "is not a DigitalOcean project environment (example: Production; one of Production, Staging, Development)",
    }),
  }),
  /** The stack's own VPC; staging and prod never share one. */
  vpc: z.strictObject({ ipRange: privateCidr }),
  /** Who may reach SSH (22) and admin UIs. Never 0.0.0.0/0 on prod (checked in the loader). */
  adminCidrs: z.array(cidr).min(1, { message: "must list at least one admin CIDR (example: [203.0.113.10/32])" }),
  /** SSH keys (fingerprints or ids) already uploaded to DigitalOcean, installed on every droplet. */
  sshKeys: z.array(sshFingerprint).min(1, { message: "must list at least one SSH key fingerprint" }),
  /** User that command resources log in as. */
  sshUser: z.string().default("root"),
  alerts: z.strictObject({
    emails: z.array(email).min(1, { message: "must list at least one address (example: [oncall@example.org])" }),
    /** Slack channel for DigitalOcean monitor alerts; the webhook itself is the secret alertSlackWebhook. */
    slackChannel: z.string().regex(/^#[a-z0-9_-]+$/, { message: "is not a Slack channel (example: \"#sre-oncall\")" }).optional(),
  }),
  /** Protect stateful resources (clusters, reserved IPs, hosts) from deletion. Always true on prod (checked in the loader). */
  protect: z.boolean().default(true),
});

export type EnvironmentConfig = z.infer<typeof environmentSchema>;
