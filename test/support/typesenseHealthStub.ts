// Typesense's /health on loopback, for running GoodGo's Typesense health check for real: Debian ships no Typesense.
// Answers GET /health like typesense-server 27.1 does ({"ok":true} when ready, {"ok":false} with 503 while it
// loads), over HTTP/1.0 and 1.1, closing the connection after the answer when the client asked for HTTP/1.0.
import { createServer, type Server } from "node:http";

export interface TypesenseHealthStub {
  port: number;
  /** What /health reports next. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

export function startTypesenseHealthStub(): Promise<TypesenseHealthStub> {
  let ready = true;
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/health") {
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json; charset=utf-8" });
      res.end(ready ? '{"ok":true}' : '{"ok":false}');
      return;
    }
    res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
    res.end('{"message": "Not Found"}');
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      resolve({ port, setReady: (r) => void (ready = r), close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
