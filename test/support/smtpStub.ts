// A stand-in for an SMTP submission relay (port 587 style) on loopback, for Alertmanager's e-mail notifier. It speaks
// the part of RFC 5321 / 3207 / 4954 a client like Go's net/smtp uses, and refuses what a real relay refuses that
// matters for delivery:
//   - any command before EHLO/HELO, and again after STARTTLS until the client greets anew (503);
//   - AUTH before STARTTLS (AUTH is not even offered then, as submission servers do; 538), a wrong login (535);
//   - MAIL before AUTH when a login is configured (530), RCPT before MAIL and DATA before RCPT (503);
//   - an unknown command (502).
// Each accepted message is kept with its envelope and whether it came over TLS after a login. What it cannot show:
// a real relay's policies (SPF, sender rewriting, size limits, rate limits) or delivery beyond it.
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";

export interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
  tls: boolean;
  user?: string;
}

export interface SmtpStub {
  port: number;
  messages: SmtpMessage[];
  /** Every command line received (AUTH arguments replaced by "***"), and the reply code, in order. */
  transcript: { command: string; reply: number }[];
  close(): Promise<void>;
}

export interface SmtpStubOptions {
  /** PEM certificate and key for STARTTLS. */
  tls: { cert: string; key: string };
  /** The only login accepted (AUTH PLAIN or LOGIN); when set, MAIL needs it. */
  auth?: { user: string; password: string };
  hostname?: string;
}

export async function startSmtpStub(port: number, o: SmtpStubOptions): Promise<SmtpStub> {
  const messages: SmtpMessage[] = [];
  const transcript: SmtpStub["transcript"] = [];
  const host = o.hostname ?? "localhost";
  const secureContext = createSecureContext({ cert: o.tls.cert, key: o.tls.key });
  const sockets = new Set<Socket>();

  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    let sock: Socket = raw;
    let tls = false;
    let greeted = false;
    let user: string | undefined;
    let from: string | undefined;
    let to: string[] = [];
    let inData = false;
    let data = "";
    let buffer = "";
    let pendingLogin: "user" | "password" | undefined;
    let loginUser = "";

    const reply = (code: number, text: string | string[], command: string) => {
      const lines = Array.isArray(text) ? text : [text];
      sock.write(lines.map((l, i) => `${code}${i < lines.length - 1 ? "-" : " "}${l}\r\n`).join(""));
      transcript.push({ command, reply: code });
    };
    const resetTransaction = () => {
      from = undefined;
      to = [];
    };
    const checkLogin = (u: string, p: string, command: string) => {
      if (o.auth && u === o.auth.user && p === o.auth.password) {
        user = u;
        reply(235, "2.7.0 Authentication successful", command);
      } else reply(535, "5.7.8 Authentication credentials invalid", command);
    };

    const onLine = (line: string) => {
      if (inData) {
        if (line === ".") {
          inData = false;
          messages.push({ from: from!, to, data, tls, ...(user ? { user } : {}) });
          resetTransaction();
          data = "";
          reply(250, "2.0.0 OK queued", "<data>");
        } else data += `${line.startsWith("..") ? line.slice(1) : line}\r\n`;
        return;
      }
      if (pendingLogin) {
        const value = Buffer.from(line, "base64").toString();
        if (pendingLogin === "user") {
          loginUser = value;
          pendingLogin = "password";
          reply(334, Buffer.from("Password:").toString("base64"), "***");
        } else {
          pendingLogin = undefined;
          checkLogin(loginUser, value, "***");
        }
        return;
      }
      const [verb = "", ...rest] = line.split(" ");
      const cmd = verb.toUpperCase();
      const arg = rest.join(" ");
      const logged = cmd === "AUTH" ? `AUTH ${rest[0] ?? ""} ***` : line;
      if (cmd === "QUIT") {
        reply(221, "2.0.0 Bye", logged);
        sock.end();
        return;
      }
      if (cmd === "NOOP") return reply(250, "2.0.0 OK", logged);
      if (cmd === "RSET") {
        resetTransaction();
        return reply(250, "2.0.0 OK", logged);
      }
      if (cmd === "EHLO" || cmd === "HELO") {
        if (!arg) return reply(501, "5.5.4 Syntax: EHLO hostname", logged);
        greeted = true;
        resetTransaction();
        if (cmd === "HELO") return reply(250, host, logged);
        // AUTH only over TLS, STARTTLS only before it: what a submission relay advertises.
        return reply(250, [host, "PIPELINING", "8BITMIME", ...(tls ? (o.auth ? ["AUTH PLAIN LOGIN"] : []) : ["STARTTLS"])], logged);
      }
      if (!greeted) return reply(503, "5.5.1 Error: send HELO/EHLO first", logged);
      switch (cmd) {
        case "STARTTLS": {
          if (tls) return reply(503, "5.5.1 Error: TLS already active", logged);
          reply(220, "2.0.0 Ready to start TLS", logged);
          const secure = new TLSSocket(sock, { isServer: true, secureContext });
          secure.on("error", () => sock.destroy());
          secure.on("secure", () => {
            tls = true;
          });
          sock.removeAllListeners("data");
          sock = secure;
          buffer = "";
          // RFC 3207: the client must greet again; everything it knew is forgotten.
          greeted = false;
          user = undefined;
          resetTransaction();
          secure.on("data", onData);
          return;
        }
        case "AUTH": {
          if (!tls) return reply(538, "5.7.11 Encryption required for requested authentication mechanism", logged);
          if (!o.auth) return reply(502, "5.5.1 Error: authentication not enabled", logged);
          if (user) return reply(503, "5.5.1 Error: already authenticated", logged);
          const [mech = "", initial] = rest;
          if (mech.toUpperCase() === "PLAIN") {
            if (!initial) return reply(501, "5.5.2 Error: PLAIN needs its initial response here", logged);
            const [, u = "", p = ""] = Buffer.from(initial, "base64").toString().split("\0");
            return checkLogin(u, p, logged);
          }
          if (mech.toUpperCase() === "LOGIN") {
            pendingLogin = "user";
            return reply(334, Buffer.from("Username:").toString("base64"), logged);
          }
          return reply(504, "5.5.4 Unrecognized authentication type", logged);
        }
        case "MAIL": {
          if (o.auth && !user) return reply(530, "5.7.0 Authentication required", logged);
          if (from !== undefined) return reply(503, "5.5.1 Error: nested MAIL command", logged);
          const m = /^FROM:\s*<([^>]*)>/i.exec(arg);
          if (!m) return reply(501, "5.5.4 Syntax: MAIL FROM:<address>", logged);
          from = m[1];
          return reply(250, "2.1.0 OK", logged);
        }
        case "RCPT": {
          if (from === undefined) return reply(503, "5.5.1 Error: need MAIL command", logged);
          const m = /^TO:\s*<([^>]+)>/i.exec(arg);
          if (!m) return reply(501, "5.5.4 Syntax: RCPT TO:<address>", logged);
          to.push(m[1]);
          return reply(250, "2.1.5 OK", logged);
        }
        case "DATA": {
          if (!to.length) return reply(503, "5.5.1 Error: need RCPT command", logged);
          inData = true;
          return reply(354, "End data with <CR><LF>.<CR><LF>", logged);
        }
        default:
          return reply(502, "5.5.2 Error: command not recognized", logged);
      }
    };
    function onData(chunk: Buffer) {
      buffer += chunk.toString("latin1");
      let i: number;
      while ((i = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        // STARTTLS empties the buffer: what follows arrives on the TLS socket.
        onLine(line);
      }
    }
    raw.on("data", onData);
    raw.on("error", () => raw.destroy());
    sock.write(`220 ${host} ESMTP lazarus-test-relay\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    port,
    messages,
    transcript,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
