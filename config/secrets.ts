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
  // GoodGo (runbook 001, section 8). The host's .env is rendered from these and the lazarus:goodgo config.
  goodgoSshPrivateKey: {
    key: "goodgoSshPrivateKey",
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the GoodGo host",
    setWith: "pulumi config set --secret --stack <stack> goodgoSshPrivateKey < ~/.ssh/lazarus_goodgo_ed25519",
  },
  goodgoDbPassword: {
    key: "goodgoDbPassword",
    description: "GoodGo's PostgreSQL password (DB_PASSWORD; also inside DATABASE_URL and DATABASE_URL_DIRECT)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoDbPassword",
  },
  goodgoJwtSecret: {
    key: "goodgoJwtSecret",
    description: "GoodGo's JWT signing secret (JWT_SECRET)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoJwtSecret",
  },
  goodgoJwtRefreshSecret: {
    key: "goodgoJwtRefreshSecret",
    description: "GoodGo's refresh-token signing secret (JWT_REFRESH_SECRET)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoJwtRefreshSecret",
  },
  goodgoRedisPassword: {
    key: "goodgoRedisPassword",
    description: "GoodGo's Redis password (REDIS_PASSWORD; also inside REDIS_URL)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoRedisPassword",
  },
  goodgoTypesenseApiKey: {
    key: "goodgoTypesenseApiKey",
    description: "GoodGo's Typesense admin API key (TYPESENSE_API_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoTypesenseApiKey",
  },
  goodgoMinioAccessKey: {
    key: "goodgoMinioAccessKey",
    description: "GoodGo's MinIO root user (MINIO_ACCESS_KEY)",
    setWith: "pulumi config set --secret --stack <stack> goodgoMinioAccessKey goodgo-minio",
  },
  goodgoMinioSecretKey: {
    key: "goodgoMinioSecretKey",
    description: "GoodGo's MinIO root password (MINIO_SECRET_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoMinioSecretKey",
  },
  goodgoAiApiKey: {
    key: "goodgoAiApiKey",
    description: "the key the GoodGo API uses to call the AI services (AI_API_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoAiApiKey",
  },
  goodgoVnpayHashSecret: {
    key: "goodgoVnpayHashSecret",
    description: "GoodGo's VNPay signature secret (VNPAY_HASH_SECRET, from the VNPay merchant portal)",
    setWith: "pulumi config set --secret --stack <stack> goodgoVnpayHashSecret < vnpay-hash-secret.txt",
  },
  goodgoPgbouncerAdminPassword: {
    key: "goodgoPgbouncerAdminPassword",
    description: "password of pgbouncer_admin, the user of GoodGo's PgBouncer admin console (SHOW POOLS, section 3.1)",
    setWith: "openssl rand -hex 24 | pulumi config set --secret --stack <stack> goodgoPgbouncerAdminPassword",
  },
  goodgoGrafanaAdminPassword: {
    key: "goodgoGrafanaAdminPassword",
    description: "GoodGo's Grafana admin password (GRAFANA_ADMIN_PASSWORD)",
    setWith: "openssl rand -base64 24 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoGrafanaAdminPassword",
  },
  goodgoSlackWebhook: {
    key: "goodgoSlackWebhook",
    description: "Slack incoming-webhook URL GoodGo's Alertmanager posts to (SLACK_WEBHOOK_URL)",
    setWith: "pulumi config set --secret --stack <stack> goodgoSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
  },
  goodgoSpacesAccessKey: {
    key: "goodgoSpacesAccessKey",
    description: "access key id of a DigitalOcean Spaces key that may write GoodGo's off-site backup bucket",
    setWith: "pulumi config set --secret --stack <stack> goodgoSpacesAccessKey DO00EXAMPLEKEYID",
  },
  goodgoSpacesSecretKey: {
    key: "goodgoSpacesSecretKey",
    description: "secret of that DigitalOcean Spaces key",
    setWith: "pulumi config set --secret --stack <stack> goodgoSpacesSecretKey < spaces-secret.txt",
  },
} as const satisfies Record<string, SecretSpec>;

export type SecretName = keyof typeof SECRET_SPECS;

export function setSecretLine(spec: SecretSpec, stack: string): string {
  return spec.setWith.replace("<stack>", stack);
}
