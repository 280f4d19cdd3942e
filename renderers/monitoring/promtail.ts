// Promtail renderer: discovers containers through the Docker socket (docker_sd_configs) and ships their logs to Loki
// labelled with the container name and the compose service. Like Loki there is no Debian package, so the tests
// check the structure against Promtail 3.0's documented configuration.
import { checkAbsolutePath, compact, toYaml } from "./common";
import { refuseField } from "../renderInputError";

const RENDERER = "promtail";

export interface PromtailInput {
  /** Loki push endpoint, e.g. http://loki:3100/loki/api/v1/push. */
  lokiPushUrl: string;
  /** Docker socket as mounted in the Promtail container. Default unix:///var/run/docker.sock. */
  dockerHost?: string;
  httpPort?: number;
  positionsFile?: string;
  /** Only containers of this compose project are shipped (all containers when omitted). */
  composeProject?: string;
  /** Static labels on every stream (e.g. { environment: "prod" }). */
  staticLabels?: Record<string, string>;
  /** Parse JSON log lines and promote their `level` field to a label (low cardinality). Default true. */
  levelFromJson?: boolean;
}

export function renderPromtailConfig(input: PromtailInput, header?: string): string {
  if (!/^https?:\/\/[^\s@]+\/loki\/api\/v1\/push$/.test(input.lokiPushUrl)) {
    refuseField(RENDERER, "promtail.lokiPushUrl", `expected http(s)://host:port/loki/api/v1/push, got ${JSON.stringify(input.lokiPushUrl)}`);
  }
  const dockerHost = input.dockerHost ?? "unix:///var/run/docker.sock";
  if (!/^(unix:\/\/\/\S+|tcp:\/\/\S+)$/.test(dockerHost)) {
    refuseField(RENDERER, "promtail.dockerHost", `expected unix:///path/to/docker.sock or tcp://host:port, got ${JSON.stringify(dockerHost)}`);
  }
  const positions = checkAbsolutePath(RENDERER, "promtail.positionsFile", input.positionsFile ?? "/tmp/positions.yaml");
  const relabel: Record<string, unknown>[] = [
    { source_labels: ["__meta_docker_container_name"], regex: "/(.*)", target_label: "container_name" },
    { source_labels: ["__meta_docker_container_label_com_docker_compose_service"], target_label: "service" },
    { source_labels: ["__meta_docker_container_label_com_docker_compose_project"], target_label: "compose_project" },
    { source_labels: ["__meta_docker_container_log_stream"], target_label: "stream" },
  ];
  const filters = input.composeProject
    ? [{ name: "label", values: [`com.docker.compose.project=${input.composeProject}`] }]
    : undefined;
  const pipeline = input.levelFromJson === false ? undefined : [{ json: { expressions: { level: "level" } } }, { labels: { level: null } }];
  const doc = {
    server: { http_listen_port: input.httpPort ?? 9080, grpc_listen_port: 0, log_level: "info" },
    positions: { filename: positions },
    clients: [compact({ url: input.lokiPushUrl, external_labels: input.staticLabels && Object.keys(input.staticLabels).length ? input.staticLabels : undefined })],
    scrape_configs: [
      compact({
        job_name: "docker",
        docker_sd_configs: [compact({ host: dockerHost, refresh_interval: "5s", filters })],
        relabel_configs: relabel,
        pipeline_stages: pipeline,
      }),
    ],
  };
  return toYaml(doc, header);
}
