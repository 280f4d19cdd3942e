// A Docker Engine stand-in on a Unix socket: it answers the two API calls `docker version` makes (HEAD/GET /_ping,
// GET /v1.NN/version) as Docker Engine 26.1.3 (Ubuntu 24.04's docker.io) does, with its headers, and 404 "page not
// found" like the engine for anything else. The real docker CLI talks to it through DOCKER_HOST. It does not model
// containers, authentication, or an engine that accepts a connection and then hangs.
import { createServer, type Server } from "node:http";

export async function startDockerEngineStub(socket: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader("Api-Version", "1.45");
    res.setHeader("Ostype", "linux");
    res.setHeader("Docker-Experimental", "false");
    res.setHeader("Server", "Docker/26.1.3 (linux)");
    if (req.url === "/_ping") {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(req.method === "HEAD" ? undefined : "OK");
    } else if (req.method === "GET" && /^\/v1\.\d+\/version$/.test(req.url ?? "")) {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ Version: "26.1.3", ApiVersion: "1.45", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64", KernelVersion: "6.8.0-49-generic" }));
    } else {
      res.statusCode = 404;
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ message: "page not found" }));
    }
  });
  await new Promise<void>((ok) => server.listen(socket, ok));
  return server;
}
