// The nginx container in front of a compose project's applications, terminating TLS with the host's certbot
// certificates (lib/hostLayout.ts paths, the placeholder-then-issued link of lib/hostCommands.ts). One definition for
// every compose platform that has such an edge (KRO, DBIS); pure data.
import { HOST_LAYOUT } from "./hostLayout";
import type { Dependency, ServiceSpec } from "./inventory";

export function nginxEdgeService(o: { name: string; image: string; confFile: string; dependsOn: Dependency[] }): ServiceSpec {
  return {
    name: o.name,
    role: "edge",
    image: o.image,
    ports: [
      { container: 80, published: 80 },
      { container: 443, published: 443 },
    ],
    volumes: [
      { kind: "bind", source: `./${o.confFile}`, target: "/etc/nginx/nginx.conf", readOnly: true },
      { kind: "bind", source: HOST_LAYOUT.tlsDir, target: HOST_LAYOUT.tlsDir, readOnly: true },
      // A certificate link in tlsDir points into certbot's live directory: the container needs it at the same path.
      { kind: "bind", source: HOST_LAYOUT.letsencryptDir, target: HOST_LAYOUT.letsencryptDir, readOnly: true },
      { kind: "bind", source: HOST_LAYOUT.acmeWebroot, target: HOST_LAYOUT.acmeWebroot, readOnly: true },
    ],
    // /healthz is answered by the rendered nginx.conf's default server on port 80 (renderers/nginx.ts).
    healthcheck: { test: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/healthz"] }, interval: "15s", timeout: "5s", retries: 3 },
    limits: { cpus: 0.5, memoryMb: 256 },
    dependsOn: o.dependsOn,
  };
}
