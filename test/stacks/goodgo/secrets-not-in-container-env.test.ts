// No secret in a container's environment (issue 8, defect 9): `docker inspect` shows a container's environment to
// anyone with access to the Docker socket, so PGPASSWORD, AWS_*, GF_SECURITY_ADMIN_PASSWORD & co. must reach their
// containers as files. Walks both stacks' rendered compose file with the .env the stack ships (every secret a
// SENTINEL value), resolved by the real docker-compose (`config`: interpolation and env_file merged, as `up` would
// create the containers), and looks for every sentinel in every service's resolved definition.
// The one exception is the explicit allow-list GOODGO_ENV_SECRET_SERVICES: the application images, which read their
// configuration from the environment by design and have no file variant.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { posix } from "node:path";
import { GOODGO_ENV_SECRET_SERVICES, GOODGO_SECRET_MOUNTS } from "../../../stacks/goodgo/services";
import { composeConfig } from "../../support/validators";
import { GOODGO_SENTINEL_SECRETS, ALL_SENTINEL_SECRETS, T, one, planFor } from "../../support/stacks";
import { GOODGO_PITR_FILES } from "../../../stacks/goodgo/pitr";

const STACKS = ["prod", "staging"] as const;
const plans: Record<string, Plan> = {};
const marker = (secret: string) => /SENTINEL-gg-[a-z]+-[0-9a-f]{4}/.exec(GOODGO_SENTINEL_SECRETS[`lazarus:${secret}`]!)![0];
/** The secrets the application reads (section 8) and nothing else: they may reach the allow-listed services only. */
const APP_SECRETS = ["goodgoDbPassword", "goodgoRedisPassword", "goodgoJwtSecret", "goodgoJwtRefreshSecret", "goodgoTypesenseApiKey", "goodgoMinioAccessKey", "goodgoMinioSecretKey", "goodgoVnpayHashSecret", "goodgoAiApiKey"];
const ALL_GOODGO_MARKERS = Object.keys(GOODGO_SENTINEL_SECRETS).map((k) => marker(k.slice("lazarus:".length)));

beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
});

const writer = (plan: Plan, path: string) => one(plan, T.command, `goodgo-${plan.stack}-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`);

/** docker-compose's resolved services, with the .env exactly as the stack ships it. */
function resolvedServices(plan: Plan): Record<string, any> {
  const compose = plan.files.find((f) => f.platform === "goodgo" && f.path.endsWith("/docker-compose.prod.yml"))!.content!;
  const env = String(writer(plan, "/root/goodgo/.env").rawInputs.stdin);
  const dockerfile = plan.files.find((f) => f.platform === "goodgo" && f.path.endsWith(`/${GOODGO_PITR_FILES.dockerfile}`))!.content!;
  const r = composeConfig(compose, {}, { envFiles: { ".env": env }, projectFiles: { [GOODGO_PITR_FILES.dockerfile]: dockerfile } });
  expect(r.ok, r.output).toBe(true);
  return r.parsed.services;
}

describe.each(STACKS)("the %s stack's containers", (stack) => {
  it("carry no secret in their environment, command or health check, except the allow-listed application services", () => {
    const services = resolvedServices(plans[stack]!);
    const leaks: string[] = [];
    for (const [name, svc] of Object.entries<any>(services)) {
      const text = JSON.stringify(svc);
      const found = ALL_GOODGO_MARKERS.filter((m) => text.includes(m));
      const allowed = GOODGO_ENV_SECRET_SERVICES.includes(name) ? APP_SECRETS.map(marker) : [];
      for (const m of found) if (!allowed.includes(m)) leaks.push(`${name}: ${m}`);
    }
    expect(leaks).toEqual([]);
  });

  it("the allow-list is what it says: application images that load the .env, and each of them needs it", () => {
    const services = resolvedServices(plans[stack]!);
    const cfgTag = /^IMAGE_TAG=(.+)$/m.exec(String(writer(plans[stack]!, "/root/goodgo/.env").rawInputs.stdin))![1];
    for (const name of GOODGO_ENV_SECRET_SERVICES) {
      const svc = services[name];
      expect(svc, name).toBeDefined();
      // An application image of the configured registry and tag, not a third-party image with a file variant.
      expect(svc.image, name).toMatch(new RegExp(`^ghcr\\.io/goodgo/goodgo-${name}:${cfgTag}$`));
      // It does get the application's secrets (through env_file): otherwise it would not belong on the list.
      expect(JSON.stringify(svc.environment), name).toContain(marker("goodgoJwtSecret"));
    }
    const withEnvFile = Object.entries<any>(services).filter(([, s]) => Object.keys(s.environment ?? {}).includes("DATABASE_URL")).map(([n]) => n);
    expect(withEnvFile.sort()).toEqual([...GOODGO_ENV_SECRET_SERVICES].sort());
  });

  it("every service with a file variant names its secret file, mounted read-only from the deploy directory", () => {
    const services = resolvedServices(plans[stack]!);
    for (const [key, m] of Object.entries(GOODGO_SECRET_MOUNTS)) {
      const svc = services[m.service];
      expect(svc, key).toBeDefined();
      // docker-compose 1.29 prints bind mounts in the short form SOURCE:TARGET:MODE, the source made absolute.
      const mounts = (svc.volumes as string[]).filter((v) => v.split(":")[1] === m.container);
      expect(mounts, key).toHaveLength(1);
      const [source, , mode] = mounts[0]!.split(":");
      expect(source!.endsWith(`/${m.host}`), `${key}: ${source}`).toBe(true);
      expect(mode, key).toBe("ro");
      // pgBackRest's include path is named by archive_command, one of the postgres server's `-c` arguments
      const archiveCommand = (services.postgres.command as string[]).find((a) => a.startsWith("archive_command=")) ?? "";
      const named = m.via.startsWith("pgbackrest ")
        ? archiveCommand.includes(`${m.via.slice("pgbackrest ".length)}=${posix.dirname(m.container)} `)
        : m.via.startsWith("--")
          ? (svc.command as string[]).includes(`${m.via}=${m.container}`)
          : svc.environment[m.via] === m.container;
      expect(named, `${key}: ${m.via}`).toBe(true);
    }
  });
});

describe("the secret files", () => {
  const plan = () => plans.prod!;
  const content = (path: string) => String(writer(plan(), path).rawInputs.stdin);
  const dir = "/root/goodgo";

  it("are written 0600 as Pulumi secrets, each holding its secret in the format its reader takes", () => {
    for (const m of Object.values(GOODGO_SECRET_MOUNTS)) {
      const path = `${dir}/${m.host}`;
      const w = writer(plan(), path);
      expect(String(w.inputs.create), path).toContain("chmod 0600");
      expect(w.inputs.stdin, path).toBe("[secret]");
      expect(plan().files.find((f) => f.path === path), path).toMatchObject({ secret: true, mode: "0600" });
    }
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.grafanaAdminPassword.host}`)).toBe("SENTINEL-gg-grafana-1c2d\n");
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.postgresPassword.host}`)).toBe("SENTINEL-gg-dbpass-3c4d/+=\n");
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.pgBackupPgpass.host}`)).toBe("*:*:*:goodgo:SENTINEL-gg-dbpass-3c4d/+=\n");
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.pgbouncerAdminPgpass.host}`)).toBe("*:*:*:pgbouncer_admin:SENTINEL-gg-pgbadmin-9e0f\n");
    expect(JSON.parse(content(`${dir}/${GOODGO_SECRET_MOUNTS.redisExporterPasswords.host}`))).toEqual({ "redis://redis:6379": "SENTINEL-gg-redis-9c0d" });
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.typesenseConfig.host}`)).toBe("[server]\napi-key = SENTINEL-gg-typesense-1e2f\n");
    expect(content(`${dir}/${GOODGO_SECRET_MOUNTS.pgBackupS3cfg.host}`)).toBe("[default]\naccess_key = SENTINEL-gg-spacesid-5a6b\nsecret_key = SENTINEL-gg-spacessecret-7c8d\n");
  });

  it("are handed to the user each container reads them as, and prepare re-runs when one is rewritten", () => {
    const prep = one(plan(), T.command, "goodgo-prod-prepare");
    const create = String(prep.inputs.create);
    // Each file goes to the user its container's process runs as (lib/imageFacts.ts, from the images' Dockerfiles);
    // root-run images (typesense, minio, pg-backup's overridden entrypoint) get their files back as root:root.
    const owners: [keyof typeof GOODGO_SECRET_MOUNTS, string][] = [
      ["postgresPassword", "999:999"], ["pgbouncerAdminPgpass", "70:70"], ["redisPassword", "999:1000"], ["grafanaAdminPassword", "472:0"],
      ["postgresExporterPassword", "65534:65534"], ["redisExporterPasswords", "59000:59000"],
      ["pgbackrestSecrets", "999:999"], ["typesenseConfig", "0:0"], ["minioRootUser", "0:0"], ["minioRootPassword", "0:0"], ["pgBackupPgpass", "0:0"], ["pgBackupS3cfg", "0:0"],
    ];
    expect(owners.map(([key]) => key).sort()).toEqual(Object.keys(GOODGO_SECRET_MOUNTS).sort());
    for (const [key, owner] of owners) {
      const path = `${dir}/${GOODGO_SECRET_MOUNTS[key].host}`;
      expect(create).toContain(`chown ${owner} ${path}`);
      expect(prep.dependencies).toContain(writer(plan(), path).urn);
    }
  });

  it("the .env no longer carries the secrets only files need (Grafana's password, the Spaces key, PgBouncer's admin)", () => {
    const env = content(`${dir}/.env`);
    for (const s of ["goodgoGrafanaAdminPassword", "goodgoSpacesAccessKey", "goodgoSpacesSecretKey", "goodgoPgbouncerAdminPassword"]) expect(env, s).not.toContain(marker(s));
  });
});
