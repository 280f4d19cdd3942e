// DigitalOcean App Platform: the app spec as the provider types it (`digitalocean.App`'s `spec`, unwrapped to plain
// data so a pure plan can build it and strict TypeScript checks every field name and type against the provider's
// schema), and the rules the App Platform API applies that the types cannot express. Pure: no Pulumi resources.
//
// The rules are DigitalOcean's OpenAPI description of the Apps API (github.com/digitalocean/openapi,
// specification/resources/apps/models/): app_spec.yml and app_component_base.yml (name pattern, region slugs),
// app_component_instance_base.yml (instance size slugs, instance_count >= 1), responses/examples.yml
// (`single_instance_only` sizes), app_service_spec.yml (http_port), app_health_check_spec.yml (health-check ranges),
// app_domain_spec.yml (domain pattern, types), app_variable_definition.yml (env keys, types, scopes), app_alert_spec*.yml
// (rules, operators, windows), apps_image_source_spec.yml (registry types; tag or digest, not both).
import type * as digitalocean from "@pulumi/digitalocean";
import type * as pulumi from "@pulumi/pulumi";

/** The app spec as plain data, field for field the provider's input type. */
export type AppSpec = pulumi.Unwrap<digitalocean.types.input.AppSpec>;
export type AppServiceSpec = NonNullable<AppSpec["services"]>[number];
export type AppEnv = NonNullable<AppSpec["envs"]>[number];
export type AppAlert = NonNullable<AppSpec["alerts"]>[number];
export type AppServiceAlert = NonNullable<AppServiceSpec["alerts"]>[number];

/** App and component names (app_spec.yml, app_component_base.yml): 2-32 characters. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
/** app_spec.yml `region`. */
export const APP_REGIONS = ["atl", "nyc", "sfo", "tor", "ams", "fra", "lon", "blr", "sgp", "syd"] as const;

/**
 * app_component_instance_base.yml's current slugs; `singleInstanceOnly` as the API's list of instance sizes reports it
 * (the two basic-tier shared sizes run one container only). The deprecated legacy slugs (basic-xxs, professional-xs,
 * ...) are refused: the API still takes them, but DigitalOcean asks new specs not to use them.
 */
export const APP_INSTANCE_SIZES: Record<string, { cpu: "shared" | "dedicated"; singleInstanceOnly: boolean }> = {
  "apps-s-1vcpu-0.5gb": { cpu: "shared", singleInstanceOnly: true },
  "apps-s-1vcpu-1gb-fixed": { cpu: "shared", singleInstanceOnly: true },
  "apps-s-1vcpu-1gb": { cpu: "shared", singleInstanceOnly: false },
  "apps-s-1vcpu-2gb": { cpu: "shared", singleInstanceOnly: false },
  "apps-s-2vcpu-4gb": { cpu: "shared", singleInstanceOnly: false },
  "apps-d-1vcpu-0.5gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-1vcpu-1gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-1vcpu-2gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-1vcpu-4gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-2vcpu-4gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-2vcpu-8gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-4vcpu-8gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-4vcpu-16gb": { cpu: "dedicated", singleInstanceOnly: false },
  "apps-d-8vcpu-32gb": { cpu: "dedicated", singleInstanceOnly: false },
};

/** A service health check's ranges (app_health_check_spec.yml; the app spec reference gives the same for services). */
export const APP_HEALTH_CHECK_RANGES = {
  initialDelaySeconds: [0, 3600],
  periodSeconds: [1, 300],
  timeoutSeconds: [1, 120],
  successThreshold: [1, 50],
  failureThreshold: [1, 50],
} as const satisfies Record<string, readonly [number, number]>;

export const APP_ENV_KEY = /^[_A-Za-z][_A-Za-z0-9]*$/;
export const APP_ENV_TYPES = ["GENERAL", "SECRET"] as const;
export const APP_ENV_SCOPES = ["RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"] as const;
export const APP_DOMAIN = /^((xn--)?[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*\.)+[a-zA-Z]{2,}\.?$/;
export const APP_DOMAIN_TYPES = ["DEFAULT", "PRIMARY", "ALIAS"] as const;
/** Rules a component's alert may use (the others in app_alert_spec_rule.yml are app-level or for functions). */
export const APP_COMPONENT_ALERT_RULES = ["CPU_UTILIZATION", "MEM_UTILIZATION", "RESTART_COUNT", "REQUESTS_PER_SECOND", "REQUEST_DURATION_P95_MS"] as const;
export const APP_LEVEL_ALERT_RULES = ["DEPLOYMENT_FAILED", "DEPLOYMENT_LIVE", "DOMAIN_FAILED", "DOMAIN_LIVE"] as const;
export const APP_ALERT_OPERATORS = ["GREATER_THAN", "LESS_THAN"] as const;
export const APP_ALERT_WINDOWS = ["FIVE_MINUTES", "TEN_MINUTES", "THIRTY_MINUTES", "ONE_HOUR"] as const;
export const APP_IMAGE_REGISTRY_TYPES = ["DOCR", "DOCKER_HUB", "GHCR"] as const;

const has = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === "string" && (list as readonly string[]).includes(v);
const intIn = (v: unknown, min: number, max: number) => v === undefined || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max);

/** Every rule the spec breaks, each as `<path>: <what is wrong> (example: ...)`; empty when the API would take it. */
export function appSpecProblems(spec: AppSpec): string[] {
  const problems: string[] = [];
  const bad = (path: string, message: string) => problems.push(`${path}: ${message}`);
  if (!APP_NAME.test(spec.name)) bad("name", `${JSON.stringify(spec.name)} is not an app name: 2-32 lowercase letters, digits and dashes, starting with a letter (example: giv-prod)`);
  if (spec.region !== undefined && !has(APP_REGIONS, spec.region)) bad("region", `${JSON.stringify(spec.region)} is not an App Platform region (example: fra; one of ${APP_REGIONS.join(", ")})`);

  const components = [...(spec.services ?? []), ...(spec.workers ?? []), ...(spec.jobs ?? []), ...(spec.staticSites ?? [])].map((c) => c.name);
  const seen = new Set<string>();
  for (const n of components) {
    if (seen.has(n)) bad(`component ${n}`, "is named twice; component names are unique within an app");
    seen.add(n);
  }
  if (!(spec.services ?? []).length) bad("services", "the app has no service (example: one service named api)");

  (spec.services ?? []).forEach((s, i) => {
    const at = `services[${i}] (${s.name})`;
    if (!APP_NAME.test(s.name)) bad(`${at}.name`, `${JSON.stringify(s.name)} is not a component name: 2-32 lowercase letters, digits and dashes, starting with a letter (example: api)`);
    const size = s.instanceSizeSlug === undefined ? undefined : APP_INSTANCE_SIZES[s.instanceSizeSlug];
    if (s.instanceSizeSlug !== undefined && !size) {
      bad(`${at}.instanceSizeSlug`, `${JSON.stringify(s.instanceSizeSlug)} is not a current instance size (example: apps-s-1vcpu-1gb; one of ${Object.keys(APP_INSTANCE_SIZES).join(", ")})`);
    }
    if (s.autoscaling && s.instanceCount !== undefined) bad(`${at}.instanceCount`, "is set together with autoscaling; the API takes one or the other");
    if (!s.autoscaling && !intIn(s.instanceCount ?? 1, 1, 250)) bad(`${at}.instanceCount`, `${s.instanceCount} is not an instance count of at least 1 (example: 2); maintenance mode, not 0 instances, takes an app offline`);
    if (size?.singleInstanceOnly && (s.instanceCount ?? 1) > 1) {
      bad(`${at}.instanceCount`, `${s.instanceCount} instances of ${s.instanceSizeSlug}, which runs a single instance only (example: apps-s-1vcpu-1gb for ${s.instanceCount} instances)`);
    }
    if (!intIn(s.httpPort, 1, 65535)) bad(`${at}.httpPort`, `${s.httpPort} is not a port (example: 8080)`);
    const hc = s.healthCheck;
    if (hc) {
      if (hc.httpPath !== undefined && !/^\/\S*$/.test(hc.httpPath)) bad(`${at}.healthCheck.httpPath`, `${JSON.stringify(hc.httpPath)} is not a path (example: /health)`);
      for (const [field, [min, max]] of Object.entries(APP_HEALTH_CHECK_RANGES)) {
        const v = hc[field as keyof typeof APP_HEALTH_CHECK_RANGES];
        if (!intIn(v, min, max)) bad(`${at}.healthCheck.${field}`, `${v} is outside ${min}-${max}`);
      }
      if (!intIn(hc.port, 1, 65535)) bad(`${at}.healthCheck.port`, `${hc.port} is not a port (example: 8080)`);
      if (hc.periodSeconds !== undefined && hc.timeoutSeconds !== undefined && hc.timeoutSeconds > hc.periodSeconds) {
        bad(`${at}.healthCheck.timeoutSeconds`, `${hc.timeoutSeconds} s is longer than the ${hc.periodSeconds} s between checks (example: timeoutSeconds 5 with periodSeconds 10)`);
      }
    }
    const sources = (["git", "github", "gitlab", "bitbucket", "image"] as const).filter((k) => s[k] !== undefined);
    if (sources.length !== 1) bad(`${at}`, `has ${sources.length ? sources.join(" and ") : "no source"}; exactly one of git, github, gitlab, bitbucket, image (example: image)`);
    if (s.image) {
      if (!has(APP_IMAGE_REGISTRY_TYPES, s.image.registryType)) bad(`${at}.image.registryType`, `${JSON.stringify(s.image.registryType)} is not a registry type (one of ${APP_IMAGE_REGISTRY_TYPES.join(", ")})`);
      if (s.image.registryType === "DOCR" && s.image.registry) bad(`${at}.image.registry`, "must be left empty for the DOCR registry type");
      if (s.image.registryType !== "DOCR" && !s.image.registry) bad(`${at}.image.registry`, `is required for the ${s.image.registryType} registry type (example: library)`);
      if (s.image.tag !== undefined && s.image.digest !== undefined) bad(`${at}.image`, "has both a tag and a digest; the API takes one");
      if (s.image.tag === undefined && s.image.digest === undefined) bad(`${at}.image.tag`, "is missing: App Platform would deploy latest (example: v1.4.2)");
      if (s.image.tag !== undefined && /^latest$/i.test(s.image.tag)) bad(`${at}.image.tag`, "is latest, which moves; pin a version (example: v1.4.2)");
      if (s.image.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(s.image.digest)) bad(`${at}.image.digest`, `${JSON.stringify(s.image.digest)} is not a sha256 digest`);
    }
    envProblems(s.envs ?? [], `${at}.envs`, bad);
    alertProblems(s.alerts ?? [], `${at}.alerts`, APP_COMPONENT_ALERT_RULES, true, bad);
  });
  envProblems(spec.envs ?? [], "envs", bad);
  alertProblems(spec.alerts ?? [], "alerts", APP_LEVEL_ALERT_RULES, false, bad);

  const domains = spec.domainNames ?? [];
  domains.forEach((d, i) => {
    if (!APP_DOMAIN.test(d.name) || d.name.length < 4 || d.name.length > 253) bad(`domainNames[${i}].name`, `${JSON.stringify(d.name)} is not a domain name (example: giv.example.org)`);
    if (d.type !== undefined && !has(APP_DOMAIN_TYPES, d.type)) bad(`domainNames[${i}].type`, `${JSON.stringify(d.type)} is not a domain type (one of ${APP_DOMAIN_TYPES.join(", ")})`);
  });
  if (domains.filter((d) => d.type === "PRIMARY").length > 1) bad("domainNames", "more than one PRIMARY domain; only one domain may be primary");
  const names = domains.map((d) => d.name.toLowerCase());
  if (new Set(names).size !== names.length) bad("domainNames", "a domain is listed twice");

  for (const [i, r] of (spec.ingress?.rules ?? []).entries()) {
    const target = r.component?.name;
    if (target !== undefined && !components.includes(target)) bad(`ingress.rules[${i}].component.name`, `${JSON.stringify(target)} is not a component of the app (one of ${components.join(", ")})`);
  }
  if (spec.maintenance?.offlinePageUrl !== undefined && !/^https:\/\/\S+$/.test(spec.maintenance.offlinePageUrl)) {
    bad("maintenance.offlinePageUrl", `${JSON.stringify(spec.maintenance.offlinePageUrl)} is not an https URL (example: https://status.example.org/maintenance.html)`);
  }
  return problems;
}

function envProblems(envs: readonly AppEnv[], at: string, bad: (path: string, message: string) => void): void {
  const keys = new Set<string>();
  envs.forEach((e, i) => {
    const key = e.key ?? "";
    if (!APP_ENV_KEY.test(key)) bad(`${at}[${i}].key`, `${JSON.stringify(e.key)} is not a variable name (example: NODE_ENV)`);
    if (keys.has(key)) bad(`${at}[${i}].key`, `${key} is set twice`);
    keys.add(key);
    if (e.type !== undefined && !has(APP_ENV_TYPES, e.type)) bad(`${at}[${i}].type`, `${JSON.stringify(e.type)} is not GENERAL or SECRET`);
    if (e.scope !== undefined && !has(APP_ENV_SCOPES, e.scope)) bad(`${at}[${i}].scope`, `${JSON.stringify(e.scope)} is not a scope (one of ${APP_ENV_SCOPES.join(", ")})`);
  });
}

function alertProblems(alerts: readonly (AppAlert | AppServiceAlert)[], at: string, rules: readonly string[], thresholds: boolean, bad: (path: string, message: string) => void): void {
  alerts.forEach((a, i) => {
    if (!has(rules, a.rule)) bad(`${at}[${i}].rule`, `${JSON.stringify(a.rule)} is not a rule here (one of ${rules.join(", ")})`);
    if (!thresholds) return;
    const t = a as AppServiceAlert;
    if (!has(APP_ALERT_OPERATORS, t.operator)) bad(`${at}[${i}].operator`, `${JSON.stringify(t.operator)} is not GREATER_THAN or LESS_THAN`);
    if (!has(APP_ALERT_WINDOWS, t.window)) bad(`${at}[${i}].window`, `${JSON.stringify(t.window)} is not a window (one of ${APP_ALERT_WINDOWS.join(", ")})`);
    if (typeof t.value !== "number" || !Number.isFinite(t.value) || t.value < 0) bad(`${at}[${i}].value`, `${t.value} is not a threshold (example: 80)`);
    if ((t.rule === "CPU_UTILIZATION" || t.rule === "MEM_UTILIZATION") && t.value > 100) bad(`${at}[${i}].value`, `${t.value} is above 100 %`);
  });
}
