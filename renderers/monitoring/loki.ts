// Loki renderer: a single-binary Loki (3.x) on the local filesystem, with retention enforced by the compactor.
// No Debian package ships Grafana Loki (Debian's `loki` is an unrelated genetics tool), so the tests check the
// rendered structure against Loki 3.0's documented configuration instead of running `loki -verify-config`.
import { checkAbsolutePath, toYaml } from "./common";
import { refuseField } from "../renderInputError";

const RENDERER = "loki";

export interface LokiInput {
  /** Days logs are kept; enforced by the compactor (retention_enabled). */
  retentionDays: number;
  httpPort?: number;
  /** Data directory inside the container (the named volume's mount point). Default /loki. */
  dataDir?: string;
  /** First day of the TSDB/v13 schema period, YYYY-MM-DD. It must never move once data exists. */
  schemaFrom?: string;
}

export function renderLokiConfig(input: LokiInput, header?: string): string {
  if (!Number.isInteger(input.retentionDays) || input.retentionDays < 1) {
    refuseField(RENDERER, "loki.retentionDays", `expected a whole number of days >= 1, got ${input.retentionDays}`);
  }
  const dataDir = checkAbsolutePath(RENDERER, "loki.dataDir", input.dataDir ?? "/loki");
  const schemaFrom = input.schemaFrom ?? "2024-04-01";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(schemaFrom)) refuseField(RENDERER, "loki.schemaFrom", `expected YYYY-MM-DD, got ${schemaFrom}`);
  const retention = `${input.retentionDays * 24}h`;
  const doc = {
    auth_enabled: false,
    server: { http_listen_port: input.httpPort ?? 3100, grpc_listen_port: 9096, log_level: "info" },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: dataDir,
      storage: { filesystem: { chunks_directory: `${dataDir}/chunks`, rules_directory: `${dataDir}/rules` } },
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    },
    schema_config: {
      configs: [{ from: schemaFrom, store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
    },
    limits_config: {
      retention_period: retention,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
      allow_structured_metadata: true,
    },
    compactor: {
      working_directory: `${dataDir}/compactor`,
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      retention_delete_worker_count: 150,
      delete_request_store: "filesystem",
    },
    analytics: { reporting_enabled: false },
  };
  return toYaml(doc, header);
}
