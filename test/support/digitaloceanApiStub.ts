// A stand-in for the DigitalOcean API on loopback, for the API calls commands make with curl. It answers only the
// requests a test expects: each expectation names the method, path, body and bearer token; anything else (another
// path or method, a body where none belongs, a missing or wrong token) gets the API's own refusals (401 for the
// token, 404 otherwise) and is recorded, so a test can assert that nothing unexpected was sent.
// It cannot show: the real API's rate limits, its validation of ids, or what a promotion does to a cluster; a test that
// needs the effect supplies it (`effect`, run before the answer: the failover drill promotes a real standby there).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ExpectedCall { method: string; path: string; body: string; token: string; status: number; response?: string; effect?: () => Promise<void> }
export interface RecordedCall { method: string; path: string; body: string; authorization?: string; answered: number }

export interface DigitaloceanApiStub { url: string; calls: RecordedCall[]; close(): Promise<void> }

export async function startDigitaloceanApiStub(expected: ExpectedCall[]): Promise<DigitaloceanApiStub> {
  const calls: RecordedCall[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const authorization = req.headers.authorization;
      const match = expected.find((e) => e.method === req.method && e.path === req.url);
      let status: number;
      let payload = "";
      if (!match) {
        status = 404;
        payload = JSON.stringify({ id: "not_found", message: "The resource you were accessing could not be found." });
      } else if (authorization !== `Bearer ${match.token}`) {
        status = 401;
        payload = JSON.stringify({ id: "Unauthorized", message: "Unable to authenticate you" });
      } else if (body !== match.body) {
        status = 422;
        payload = JSON.stringify({ id: "unprocessable_entity", message: `unexpected body ${JSON.stringify(body)}` });
      } else {
        status = match.status;
        payload = match.response ?? "";
        if (match.effect) {
          try {
            await match.effect();
          } catch (e) {
            status = 500;
            payload = JSON.stringify({ id: "server_error", message: String(e) });
          }
        }
      }
      calls.push({ method: req.method ?? "", path: req.url ?? "", body, authorization, answered: status });
      res.writeHead(status, payload ? { "content-type": "application/json" } : {});
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
