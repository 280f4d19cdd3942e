// The shared point-in-time piece (lib/postgresPitr.ts), pure parts: the image with pgBackRest (pinned base, pinned
// packages, a tag that names both, facts the host model and the stand-in docker judge execs by), the server's archive
// arguments read back, the schedule and its refusals. The Dockerfile cannot be built here (no Docker engine, no PGDG
// repository): a real `docker compose up` on the host is the first build; what is checked here is what it says.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { imageFacts } from "../../lib/imageFacts";
import {
  PGBACKREST_DEBIAN_PACKAGES,
  archiveSettingsFromServerArgs,
  pgbackrestImage,
  pitrRestoreArgv,
  pitrScheduleJobs,
  pitrServerFiles,
  pitrSystemdUnits,
  type SelfManagedPitrSite,
} from "../../lib/postgresPitr";
import { RenderInputError } from "../../renderers/renderInputError";
import { loadStackConfig, platformConfig } from "../../config/load";
import { goodgo } from "../../stacks/goodgo";
import { GOODGO_COMPOSE_FILE } from "../../stacks/goodgo/inventory";
import { GOODGO_PITR_FILES } from "../../stacks/goodgo/pitr";
import { goodgoPlainFiles } from "../../stacks/goodgo/plan";
import { rawStack } from "../support/stacks";

describe("the PostgreSQL image with pgBackRest", () => {
  const img = pgbackrestImage("postgis/postgis:16-3.4");

  it("is built FROM the pinned base with pinned pgbackrest (PGDG), jq and zstd (Debian), and its tag names both", () => {
    expect(img.image).toBe(`localhost/lazarus/postgis-pgbackrest:16-3.4-pgbackrest${PGBACKREST_DEBIAN_PACKAGES.bullseye.pgbackrest.split("-")[0]}`);
    const lines = img.dockerfile.split("\n").filter((l) => !l.startsWith("#") && l.trim());
    expect(lines[0]).toBe("FROM postgis/postgis:16-3.4");
    const install = lines.find((l) => l.includes("apt-get install"))!;
    // every package it installs carries =version
    const pkgs = install.replace(/.*--no-install-recommends /, "").replace(/;.*$/, "").trim().split(/\s+/);
    expect(pkgs).toEqual([`pgbackrest=${PGBACKREST_DEBIAN_PACKAGES.bullseye.pgbackrest}`, `jq=${PGBACKREST_DEBIAN_PACKAGES.bullseye.jq}`, `zstd=${PGBACKREST_DEBIAN_PACKAGES.bullseye.zstd}`]);
    expect(PGBACKREST_DEBIAN_PACKAGES.bullseye.pgbackrest).toMatch(/\.pgdg110\+\d+$/); // PGDG's bullseye build
    // the build fails if what got installed is not the pinned version
    expect(img.dockerfile).toContain(`pgbackrest version | grep -qx 'pgBackRest ${PGBACKREST_DEBIAN_PACKAGES.bullseye.pgbackrest.split("-")[0]}'`);
    expect(img.dockerfile).toContain("install -d -o postgres -g postgres -m 0750 /var/log/pgbackrest /var/spool/pgbackrest");
  });

  it("is refused for a base whose Debian release is not known (the pin depends on it)", () => {
    expect(() => pgbackrestImage("postgres:17")).toThrow(RenderInputError);
    expect(() => pgbackrestImage("postgres:17")).toThrow(/has no known Debian release/);
  });

  it("has the base's users and the base's programs plus pgbackrest and jq in the image facts", () => {
    const facts = imageFacts(img.image);
    const base = imageFacts("postgis/postgis:16-3.4");
    expect(facts.runsAs).toEqual(base.runsAs);
    expect(facts.imageUser).toEqual(base.imageUser);
    expect(facts.executables).toEqual(expect.arrayContaining([...base.executables, "pgbackrest", "jq", "zstd"]));
    expect(base.executables).not.toContain("pgbackrest");
    expect(facts.source).toContain("lib/postgresPitr.ts");
  });

  it("is what GoodGo's postgres and pg-backup run, built from the Dockerfile the plan ships at their build context", () => {
    const cfg = platformConfig(loadStackConfig(rawStack("prod"), { allowMissingSecrets: true }), goodgo)!;
    const files = goodgoPlainFiles(cfg, "prod");
    const compose = parse(files[`${cfg.app.deployDir}/${GOODGO_COMPOSE_FILE}`]!);
    for (const s of ["postgres", "pg-backup"]) {
      expect(compose.services[s].image, s).toBe(img.image);
      expect(compose.services[s].build, s).toEqual({ context: `./${GOODGO_PITR_FILES.buildContext}` });
      expect(compose.services[s].pull_policy, s).toBe("build");
    }
    expect(files[`${cfg.app.deployDir}/${GOODGO_PITR_FILES.dockerfile}`]).toBe(img.dockerfile);
    expect(GOODGO_PITR_FILES.dockerfile.startsWith(`${GOODGO_PITR_FILES.buildContext}/`)).toBe(true);
  });
});

describe("the archive settings and the schedule", () => {
  const site: SelfManagedPitrSite = {
    stanza: "app",
    pg: { dataDir: "/var/lib/postgresql/data", socketDir: "/var/run/postgresql", port: 5432, user: "app" },
    repository: { type: "posix", path: "/var/lib/pgbackrest" },
    retentionFull: 2,
    archiveTimeoutSeconds: 60,
    configPath: "/etc/pgbackrest/pgbackrest.conf",
    includeDir: "/etc/pgbackrest/conf.d",
    encrypted: true,
    spoolDir: "/var/spool/pgbackrest",
    logDir: "/var/log/pgbackrest",
  };

  it("gives the server the same settings as arguments as in its conf.d form", () => {
    const f = pitrServerFiles(site);
    expect(archiveSettingsFromServerArgs(["postgres", ...f.serverArgs])).toEqual(f.archiveSettings);
    expect(f.archiveSettings).toEqual({
      wal_level: "replica",
      archive_mode: "on",
      archive_command: "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=app archive-push %p",
      archive_timeout: "60s",
    });
    expect(f.archiveConf).toContain("archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf");
    expect(f.pgbackrestConf).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
  });

  it("schedules the full backup on its day and a differential on the six others, and refuses a day or time outside the week", () => {
    expect(pitrScheduleJobs({ at: "01:30", fullWeekday: 3 })).toEqual([
      { job: "pitr-full", hour: 1, minute: 30, weekdays: [3] },
      { job: "pitr-diff", hour: 1, minute: 30, weekdays: [0, 1, 2, 4, 5, 6] },
    ]);
    expect(() => pitrScheduleJobs({ at: "01:30", fullWeekday: 7 })).toThrow(/fullWeekday: must be a day of the week 0-6/);
    expect(() => pitrScheduleJobs({ at: "1:30", fullWeekday: 0 })).toThrow(/at: must be a UTC time "HH:MM"/);
    expect(() => pitrSystemdUnits({ unitPrefix: "Bad Prefix", stanza: "app", schedule: { at: "01:00", fullWeekday: 0 }, scriptsDir: "/s", metricsDir: "/m", backupDir: "/b", user: "postgres" })).toThrow(/unitPrefix/);
  });

  it("restores to latest without a target time, and refuses a time without its zone", () => {
    const base = { stanza: "app", label: "r1", database: "app", scratchRoot: "/backups/pitr", port: 5433, scriptsDir: "/s" };
    expect(pitrRestoreArgv({ ...base, pointInTime: "latest" })).not.toContain("--target-time");
    expect(pitrRestoreArgv({ ...base, pointInTime: "2026-11-23T02:00:00Z" })).toEqual(expect.arrayContaining(["--target-time", "2026-11-23T02:00:00Z"]));
    expect(() => pitrRestoreArgv({ ...base, pointInTime: "2026-11-23 02:00:00" })).toThrow(/pointInTime: must be latest or a UTC time/);
  });
});
