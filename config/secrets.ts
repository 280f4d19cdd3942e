// The secrets each platform needs. They are set only with `pulumi config set --secret`, travel only as Pulumi secrets,
// and are listed all at once when missing, each with the command that sets it.

export interface SecretSpec {
  /** Config key in the `lazarus` namespace. */
  key: string;
  /** What it is, for the operator who has to find it. */
  description: string;
  /** How to set it; `<stack>` is replaced with the stack name. */
  setWith: string;
}

export const SECRET_SPECS = {
  kroProductionJson: {
    key: "kroProductionJson",
    description: "the KRO backend's production.json (Lazarus writes the database connection into it)",
    setWith: "pulumi config set --secret --stack <stack> kroProductionJson < production.json",
  },
  kroSshPrivateKey: {
    key: "kroSshPrivateKey",
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the KRO host",
    setWith: "pulumi config set --secret --stack <stack> kroSshPrivateKey < ~/.ssh/lazarus_kro_ed25519",
  },
  alertSlackWebhook: {
    key: "alertSlackWebhook",
    description: "Slack incoming-webhook URL for DigitalOcean monitor alerts (needed when environment.alerts.slackChannel is set)",
    setWith: "pulumi config set --secret --stack <stack> alertSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
  },
} as const satisfies Record<string, SecretSpec>;

export type SecretName = keyof typeof SECRET_SPECS;

export function setSecretLine(spec: SecretSpec, stack: string): string {
  return spec.setWith.replace("<stack>", stack);
}
