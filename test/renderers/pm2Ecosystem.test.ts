// The PM2 ecosystem renderer: the file Node (and so PM2) loads, and what it refuses.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderPm2Ecosystem } from "../../renderers/pm2Ecosystem";
import { RenderInputError } from "../../renderers/renderInputError";

const app = { name: "bunty-backend", script: "dist/index.js", cwd: "/var/www/bunty-backend" };

describe("renderPm2Ecosystem", () => {
  it("renders a module Node loads, fork mode for one process and cluster mode for more", () => {
    const dir = mkdtempSync(join(tmpdir(), "pm2eco-"));
    const file = join(dir, "ecosystem.config.js");
    writeFileSync(file, renderPm2Ecosystem({ apps: [{ ...app, instances: 2, maxMemoryRestart: "1G", env: { NODE_ENV: "production", PORT: "3000" } }, { ...app, name: "worker" }] }));
    const loaded = createRequire(file)(file) as { apps: Record<string, unknown>[] };
    expect(loaded.apps[0]).toMatchObject({ name: "bunty-backend", cwd: "/var/www/bunty-backend", script: "dist/index.js", instances: 2, exec_mode: "cluster", max_memory_restart: "1G", env: { NODE_ENV: "production", PORT: "3000" } });
    expect(loaded.apps[1]).toMatchObject({ name: "worker", instances: 1, exec_mode: "fork" });
  });

  it("refuses every problem at once: a relative cwd, a duplicate name, a secret in env", () => {
    let err: unknown;
    try {
      renderPm2Ecosystem({ apps: [{ ...app, cwd: "www" }, { ...app, env: { JWT_SECRET: "x" } }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RenderInputError);
    const problems = (err as RenderInputError).problems.join("\n");
    expect(problems).toContain("apps[0].cwd");
    expect(problems).toContain('apps[1].name: "bunty-backend" is listed twice');
    expect(problems).toContain("apps[1].env.JWT_SECRET: looks like a secret");
    expect(problems).not.toContain('"x"');
  });
});
