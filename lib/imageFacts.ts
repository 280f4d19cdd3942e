// What each container image the stacks run is like inside: the user its process runs as and the executables it ships.
// One home for these facts: the stacks chown secret files to these uids, and the host model (test/support/hostModel.ts)
// refuses a mount the user cannot read or a health check / exec that calls a program the image lacks. Keyed by image
// repository (tags vary per stack); each entry names where the fact comes from. Pure data, no I/O.
import { pgbackrestImage, pgbackrestImageRepository } from "./postgresPitr";

export interface ContainerUser {
  uid: number;
  gid: number;
}

export interface ImageFacts {
  /** The user the image's own entrypoint runs the main process as (after any privilege drop, e.g. gosu/su-exec). */
  runsAs: ContainerUser;
  /** The image's USER: what an overridden entrypoint, `docker exec` and health checks run as. */
  imageUser: ContainerUser;
  /** Programs on the image's PATH that health checks and execs may call (a shell among them only if it has one). */
  executables: readonly string[];
  /** The Dockerfile or documentation each fact comes from; "not verifiable here" says so when no public source exists. */
  source: string;
}

const ROOT: ContainerUser = { uid: 0, gid: 0 };
const NOBODY: ContainerUser = { uid: 65534, gid: 65534 };

// The applets of a busybox base (quay.io/prometheus/busybox, alpine) that our health checks and execs use.
const BUSYBOX = ["sh", "wget", "grep", "sed", "awk", "cat", "ls", "test", "["];
// What a Debian/Ubuntu base ships (coreutils, grep, sed, mawk, bash, dash): no curl, no wget.
const DEBIAN = ["sh", "bash", "grep", "sed", "awk", "cat", "ls", "ln", "mkdir", "mktemp", "rm", "sort", "tail", "head", "test", "[", "flock"];

const POSTGIS: ImageFacts = {
  runsAs: { uid: 999, gid: 999 },
  imageUser: ROOT,
  // pg_ctl: the image puts /usr/lib/postgresql/16/bin on PATH; runuser and install: util-linux and coreutils (essential)
  executables: [...DEBIAN, "postgres", "pg_isready", "psql", "pg_dump", "pg_restore", "pg_ctl", "createdb", "dropdb", "apt-get", "gosu", "runuser", "install"],
  source:
    "https://github.com/postgis/docker-postgis/blob/master/16-3.4/Dockerfile (FROM postgres:16-bullseye); https://github.com/docker-library/postgres/blob/master/16/bullseye/Dockerfile (useradd postgres uid 999; no USER; ENV PATH ...:/usr/lib/postgresql/16/bin; docker-entrypoint.sh drops to postgres with gosu)",
};

/** An image built FROM `base` with pgBackRest (lib/postgresPitr.ts pgbackrestImage): the same users, two more programs. */
function withPgbackrest(base: ImageFacts): ImageFacts {
  return {
    ...base,
    executables: [...base.executables, ...pgbackrestImage("postgis/postgis:16-3.4").adds],
    source: `lib/postgresPitr.ts pgbackrestImage (its rendered Dockerfile: FROM the base, apt-get install pinned pgbackrest, jq and zstd, no USER); the base: ${base.source}`,
  };
}

export const IMAGE_FACTS: Readonly<Record<string, ImageFacts>> = {
  "prom/prometheus": {
    runsAs: NOBODY,
    imageUser: NOBODY,
    executables: [...BUSYBOX, "prometheus", "promtool"],
    source: "https://github.com/prometheus/prometheus/blob/v2.51.0/Dockerfile (FROM quay.io/prometheus/busybox, USER nobody)",
  },
  "prom/alertmanager": {
    runsAs: NOBODY,
    imageUser: NOBODY,
    executables: [...BUSYBOX, "alertmanager", "amtool"],
    source: "https://github.com/prometheus/alertmanager/blob/v0.27.0/Dockerfile (FROM quay.io/prometheus/busybox, USER nobody)",
  },
  "prom/node-exporter": {
    runsAs: NOBODY,
    imageUser: NOBODY,
    executables: [...BUSYBOX, "node_exporter"],
    source: "https://github.com/prometheus/node_exporter/blob/v1.7.0/Dockerfile (FROM quay.io/prometheus/busybox, USER nobody)",
  },
  "quay.io/prometheuscommunity/postgres-exporter": {
    runsAs: NOBODY,
    imageUser: NOBODY,
    executables: [...BUSYBOX, "postgres_exporter"],
    source: "https://github.com/prometheus-community/postgres_exporter/blob/v0.15.0/Dockerfile (FROM quay.io/prometheus/busybox, USER nobody)",
  },
  "grafana/grafana": {
    runsAs: { uid: 472, gid: 0 },
    imageUser: { uid: 472, gid: 0 },
    executables: [...BUSYBOX, "bash", "curl", "grafana", "grafana-cli", "grafana-server"],
    source:
      "https://github.com/grafana/grafana/blob/v10.4.1/Dockerfile (alpine; ARG GF_UID=472, GF_GID=0; apk add bash curl; USER ${GF_UID}); https://grafana.com/docs/grafana/latest/setup-grafana/installation/docker/ (\"runs as user 472\")",
  },
  "grafana/loki": {
    runsAs: { uid: 10001, gid: 10001 },
    imageUser: { uid: 10001, gid: 10001 },
    executables: [...BUSYBOX, "loki"],
    source: "https://github.com/grafana/loki/blob/v3.0.0/cmd/loki/Dockerfile (FROM alpine; adduser -u 10001; USER 10001)",
  },
  "grafana/promtail": {
    runsAs: ROOT,
    imageUser: ROOT,
    executables: [...DEBIAN, "promtail"],
    source: "https://github.com/grafana/loki/blob/v3.0.0/clients/cmd/promtail/Dockerfile (FROM debian slim, no USER: root, to read every container's logs)",
  },
  "gcr.io/cadvisor/cadvisor": {
    runsAs: ROOT,
    imageUser: ROOT,
    executables: [...BUSYBOX, "cadvisor"],
    source: "https://github.com/google/cadvisor/blob/v0.49.1/deploy/Dockerfile (FROM alpine, no USER; its own HEALTHCHECK runs wget)",
  },
  "oliver006/redis_exporter": {
    runsAs: { uid: 59000, gid: 59000 },
    imageUser: { uid: 59000, gid: 59000 },
    executables: ["redis_exporter"],
    source: "https://github.com/oliver006/redis_exporter/blob/v1.58.0/Dockerfile (FROM scratch: no shell, no wget; USER 59000:59000)",
  },
  "postgis/postgis": POSTGIS,
  // GoodGo's postgres and pg-backup: the postgis image plus pgBackRest, jq and zstd, built on the host (lib/postgresPitr.ts).
  [pgbackrestImageRepository("postgis/postgis")]: withPgbackrest(POSTGIS),
  postgres: {
    runsAs: { uid: 999, gid: 999 },
    imageUser: ROOT,
    executables: [...DEBIAN, "postgres", "pg_isready", "psql", "pg_dump", "pg_restore", "createdb", "dropdb", "apt-get", "gosu", "gzip", "sha256sum", "date"],
    source:
      "https://github.com/docker-library/postgres/blob/master/15/bookworm/Dockerfile (FROM debian:bookworm-slim; useradd postgres uid 999; no USER; docker-entrypoint.sh drops to postgres with gosu)",
  },
  "edoburu/pgbouncer": {
    runsAs: { uid: 70, gid: 70 },
    imageUser: { uid: 70, gid: 70 },
    executables: [...BUSYBOX, "pgbouncer", "pg_isready", "psql"],
    source: "https://github.com/edoburu/docker-pgbouncer/blob/master/Dockerfile (alpine; apk add postgresql-client; adduser -u 70 postgres; USER postgres)",
  },
  redis: {
    runsAs: { uid: 999, gid: 1000 },
    imageUser: ROOT,
    executables: [...BUSYBOX, "redis-server", "redis-cli", "su-exec"],
    source:
      "https://github.com/docker-library/redis/blob/master/7.4/alpine/Dockerfile (addgroup -g 1000 redis; adduser -u 999 redis; no USER; docker-entrypoint.sh drops to redis with su-exec)",
  },
  "typesense/typesense": {
    runsAs: ROOT,
    imageUser: ROOT,
    executables: [...DEBIAN, "typesense-server"],
    source:
      "https://github.com/typesense/typesense/blob/main/docker/deployment.Dockerfile (FROM ubuntu, installs only ca-certificates: no curl, no wget; no USER); https://github.com/typesense/typesense/issues/441 and https://github.com/typesense/typesense/pull/1097 (curl not in the image)",
  },
  "minio/minio": {
    runsAs: ROOT,
    imageUser: ROOT,
    executables: ["sh", "bash", "minio", "mc", "curl"],
    source:
      "https://github.com/minio/minio/blob/master/Dockerfile.release (ubi-micro base, copies minio, mc and curl; no USER); https://min.io/docs/minio/container/operations/monitoring/healthcheck-probe.html (mc ready local)",
  },
  nginx: {
    runsAs: ROOT,
    imageUser: ROOT,
    executables: [...BUSYBOX, "nginx"],
    source:
      "https://github.com/nginxinc/docker-nginx/blob/master/mainline/alpine-slim/Dockerfile (FROM alpine, no USER: the master process runs as root and reads the config, workers run as nginx)",
  },
  // The applications' own images: built by their teams' CI, Dockerfiles not public.
  "registry.digitalocean.com/kro/backend": appImage("node", "runbook 000 KRO: Node.js services; health checks run node (KRO's Dockerfiles are not public)"),
  "registry.digitalocean.com/kro/frontend": appImage("node", "runbook 000 KRO: Node.js services; health checks run node (KRO's Dockerfiles are not public)"),
  "registry.digitalocean.com/kro/admin-frontend": appImage("node", "runbook 000 KRO: Node.js services; health checks run node (KRO's Dockerfiles are not public)"),
  "registry.digitalocean.com/dbis/dbis-core": appImage("node", "runbook 004 DBIS: Node.js/TypeScript Express server; `npm run migrate|migrate:rollback|seed` (DBIS's Dockerfile is not public)", ["npm"]),
  "ghcr.io/goodgo/goodgo-api": appImage("node", "runbook 001 GoodGo: NestJS API with npx prisma / ts-node scripts (GoodGo's Dockerfiles are not public)", ["npx"]),
  "ghcr.io/goodgo/goodgo-web": appImage("node", "runbook 001 GoodGo: Next.js web (GoodGo's Dockerfiles are not public)"),
  "ghcr.io/goodgo/goodgo-ai-services": appImage("python", "runbook 001 GoodGo: Python AI service with httpx (GoodGo's Dockerfiles are not public)"),
};

/** An application image: its runtime on a shell base, running as root (not verifiable here: no public Dockerfile). */
function appImage(runtime: string, basis: string, more: string[] = []): ImageFacts {
  return { runsAs: ROOT, imageUser: ROOT, executables: ["sh", runtime, ...more], source: `not verifiable here, assumed from ${basis}` };
}

/**
 * The repository of an image reference: tag and digest dropped, Compose's `${VAR:-default}` resolved to its default
 * (GoodGo's `${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api:${IMAGE_TAG:-8f3c2a1}`), Docker Hub's `library/` implied.
 */
export function imageRepository(image: string): string {
  const resolved = image.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, "$1");
  const name = resolved.split("@")[0];
  const lastSlash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const repo = colon > lastSlash ? name.slice(0, colon) : name;
  return repo.replace(/^(docker\.io\/)?library\//, "").replace(/^docker\.io\//, "");
}

export function imageFacts(image: string): ImageFacts {
  const repo = imageRepository(image);
  const facts = IMAGE_FACTS[repo];
  if (!facts) {
    throw new Error(
      `lib/imageFacts.ts: no facts for image "${image}" (repository "${repo}"): add an entry with its user, executables and source, ` +
        `e.g. "${repo}": { runsAs: { uid: 65534, gid: 65534 }, imageUser: ..., executables: ["sh", "wget"], source: "<its Dockerfile URL>" }`,
    );
  }
  return facts;
}

/** What decides a container's user: its image, and the service's own `user:` and `entrypoint:` (compose's keys). */
export interface ServiceRunAs {
  image: string;
  user?: string;
  entrypoint?: unknown;
}

/**
 * The user a service's process runs as: compose `user:` ("uid[:gid]") when set; else the image's own entrypoint drops
 * to `runsAs`, and a service that overrides the entrypoint runs it as the image's USER (no privilege drop happens).
 */
export function containerUser(service: ServiceRunAs): ContainerUser {
  if (service.user) {
    const [uid, gid] = service.user.split(":").map(Number);
    return { uid, gid: gid ?? uid };
  }
  const facts = imageFacts(service.image);
  return service.entrypoint ? facts.imageUser : facts.runsAs;
}

/** `uid:gid` of a service's process: the owner a 0600 secret file mounted into it must have. */
export function secretFileOwner(service: ServiceRunAs): string {
  const { uid, gid } = containerUser(service);
  return `${uid}:${gid}`;
}
