import { createServer } from "node:net";

// Ports for the test servers (sshd, PostgreSQL, Redis, PM2 apps, stand-ins) come from 20000-32767, BELOW the kernel's
// ephemeral range (32768-60999 on Linux): a port the kernel picks with listen(0) is in that range, and between picking it
// and the server binding it (seconds, under the engine) any outbound connection of the suite (ssh, psql, HTTP) may be
// given it as its source port, and the server then fails with EADDRINUSE (seen: a Pencom stand-in app errored in PM2
// under the full suite). Random picks make two test files choosing the same free port at once unlikely; each pick is
// checked by binding it.
const LOW = 20000;
const HIGH = 32767;

function tryBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (await tryBind(port)) return port;
  }
  throw new Error(`no free port found in ${LOW}-${HIGH} after 200 tries`);
}
