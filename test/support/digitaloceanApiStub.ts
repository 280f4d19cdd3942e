// A stand-in for the DigitalOcean API on loopback, for the API calls commands make with curl. It answers only the
// requests a test expects: each expectation names the method, path, body and bearer token; anything else (another
// path or method, a body where none belongs, a missing or wrong token) gets the API's own refusals (401 for the
// token, 404 otherwise) and is recorded, so a test can assert that nothing unexpected was sent.
// A JSON expectation (`json`) refuses like the API: a body that is not JSON, or not sent as application/json, gets
// 400 (`bad_request`); JSON that differs gets 422. `refuse` lets a test add what the real API refuses by the content
// of a well-formed body, such as a rollback to a deployment id the app does not have (404, as the API documents).
// Error bodies are the API's (`{"id", "message"}`, as DigitalOcean's OpenAPI description gives them for 401 and 404).
// It cannot show: the real API's rate limits, the tiers' rollback revision limits, or what a promotion, rollback or
// rebuild does to a cluster or an app; a test that needs the effect supplies it (`effect`, run before a successful
// answer: the failover drill promotes a real standby there).
import { isDeepStrictEqual } from "node:util";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ExpectedCall {
  method: string;
  path: string;
  /** The exact body (for calls without one: ""); or `json`. */
  body?: string;
  /** The body as JSON, compared by value; sent with Content-Type: application/json. */
  json?: unknown;
  token: string;
  status: number;
  response?: string;
  /** A refusal for a well-formed body the real API would still refuse (e.g. an unknown deployment id). */
  refuse?: (body: unknown) => { status: number; id: string; message: string } | undefined;
  /** What the call does, run before the answer; if it throws, the answer is 500. */
  effect?: () => Promise<void>;
}
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
      let expectedCall = false; // the request is the expected one: its effect runs
      if (!match) {
        status = 404;
        payload = JSON.stringify({ id: "not_found", message: "The resource you requested could not be found." });
      } else if (authorization !== `Bearer ${match.token}`) {
        status = 401;
        payload = JSON.stringify({ id: "unauthorized", message: "Unable to authenticate you." });
      } else if (match.json === undefined) {
        if (body !== (match.body ?? "")) {
          status = 422;
          payload = JSON.stringify({ id: "unprocessable_entity", message: `unexpected body ${JSON.stringify(body)}` });
        } else {
          status = match.status;
          payload = match.response ?? "";
          expectedCall = true;
        }
      } else {
        let parsed: unknown;
        let parses = true;
        try {
          parsed = JSON.parse(body);
        } catch {
          parses = false;
        }
        const refusal = parses ? match.refuse?.(parsed) : undefined;
        if (!parses || !/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
          status = 400;
          payload = JSON.stringify({ id: "bad_request", message: parses ? "request body must be sent as application/json" : "invalid JSON in request body" });
        } else if (refusal) {
          status = refusal.status;
          payload = JSON.stringify({ id: refusal.id, message: refusal.message });
        } else if (!isDeepStrictEqual(parsed, match.json)) {
          status = 422;
          payload = JSON.stringify({ id: "unprocessable_entity", message: `unexpected body ${body}` });
        } else {
          status = match.status;
          payload = match.response ?? "";
          expectedCall = true;
        }
      }
      if (expectedCall && match?.effect) {
        try {
          await match.effect();
        } catch (e) {
          status = 500;
          payload = JSON.stringify({ id: "server_error", message: String(e) });
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
