// The secrets the shared environment needs, and the shape every platform's secrets take. A platform lists its own in
// its module (stacks/<platform>/); the loader gathers them through the registry. They are set only with
// `pulumi config set --secret`, travel only as Pulumi secrets, and are listed all at once when missing, each with the
// command that sets it.

export interface SecretSpec {
  /** What it is, for the operator who has to find it. */
  description: string;
  /** How to set it; `<stack>` is replaced with the stack name. */
  setWith: string;
}

/** Secrets of the shared environment (not of one platform). */
export const ENVIRONMENT_SECRETS = {
  alertSlackWebhook: {
    description: "Slack incoming-webhook URL for DigitalOcean monitor alerts (needed when environment.alerts.slackChannel is set)",
    setWith: "pulumi config set --secret --stack <stack> alertSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
  },
} as const satisfies Record<string, SecretSpec>;

export function setSecretLine(spec: SecretSpec, stack: string): string {
  return spec.setWith.replace("<stack>", stack);
}
