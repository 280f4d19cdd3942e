// The generated GoodGo operator runbook is read back and held to its sources:
//   - the Mermaid graph's edges, parsed back, are exactly the inventory's dependsOn entries (with their conditions);
//   - every service is in the services table with its image, ports, limits and health check, and in the graph;
//   - the start / stop / rolling-restart orders printed are lib/inventory's, and each restart respects the dependencies;
//   - every operation action and recovery switch of the config schema is documented, and every YAML snippet, merged into
//     the real Pulumi.<stack>.yaml, is accepted by the stack's config schema and its cross-key checks (confirmations on
//     prod included), so an operator can paste it as it is;
//   - every incident of sections 3.1-3.10 and 4.1-4.6 is there.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { GOODGO_OPERATION_ACTIONS, GOODGO_RECOVERY_SWITCHES, goodgoSchema, type GoodgoConfig } from "../../stacks/goodgo/config";
import { goodgo } from "../../stacks/goodgo";
import { goodgoInventory } from "../../stacks/goodgo/services";
import { goodgoStackInventory } from "../../stacks/goodgo/inventory";
import { defineInventory, rollingRestartOrder, startOrder, stopOrder, type ServiceInventory } from "../../lib/inventory";
import { mermaidGraph, mermaidId } from "../../renderers/runbookDoc";
import * as doc from "../../stacks/goodgo/runbook";
import { renderGoodgoRunbook } from "../../stacks/goodgo/runbook";
import { databaseRestoreSteps, hostRecoverySteps } from "../../stacks/goodgo/commands";
import { RenderInputError } from "../../renderers/renderInputError";

const root = resolve(__dirname, "../..");

function stackGoodgo(stack: string): Record<string, any> {
  const file = parse(readFileSync(resolve(root, `Pulumi.${stack}.yaml`), "utf8"));
  const raw = file?.config?.["lazarus:goodgo"];
  if (!raw) throw new Error(`Pulumi.${stack}.yaml has no lazarus:goodgo section`);
  return raw;
}

function parsedConfig(raw: unknown): GoodgoConfig {
  const r = goodgoSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  return r.data as GoodgoConfig;
}

/** The snippet merged into the stack's own section: operations appended, recovery switches set, other keys merged. */
function merge(base: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (k === "operations") out.operations = [...(out.operations ?? []), ...(v as unknown[])];
    else if (v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object") out[k] = { ...out[k], ...v };
    else out[k] = v;
  }
  return out;
}

function yamlBlocks(md: string): string[] {
  return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Mermaid edges parsed back to service names: node lines map ids to labels. */
function mermaidEdges(md: string): { nodes: string[]; edges: string[] } {
  const block = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1];
  if (!block) throw new Error("no mermaid block");
  const lines = block.split("\n").map((l) => l.trim()).filter(Boolean);
  expect(lines[0]).toMatch(/^graph (TD|LR)$/);
  const label = new Map<string, string>();
  const edges: string[] = [];
  for (const l of lines.slice(1)) {
    const node = /^(\w+)\["([^"]+)"\]$/.exec(l);
    const edge = /^(\w+) -->\|(\w+)\| (\w+)$/.exec(l);
    if (node) label.set(node[1]!, node[2]!);
    else if (edge) edges.push(`${edge[1]} ${edge[2]} ${edge[3]}`);
    else throw new Error(`unexpected mermaid line: ${l}`);
  }
  const name = (id: string) => {
    const n = label.get(id);
    if (!n) throw new Error(`edge names an undeclared node ${id}`);
    return n;
  };
  return {
    nodes: [...label.values()].sort(),
    edges: edges.map((e) => e.split(" ")).map(([a, c, b]) => `${name(a!)} -${c}-> ${name(b!)}`).sort(),
  };
}

const inventoryEdges = (inv: ServiceInventory) =>
  inv.services.flatMap((s) => (s.dependsOn ?? []).map((d) => `${s.name} -${d.condition}-> ${d.service}`)).sort();

for (const stack of ["prod", "staging"]) {
  describe(`the generated runbook for ${stack}`, () => {
    const raw = stackGoodgo(stack);
    const cfg = parsedConfig(raw);
    const inv = goodgoInventory();
    const md = renderGoodgoRunbook({ config: cfg, stack, inventory: inv });

    it("the Mermaid graph's edges are exactly the inventory's dependencies, and every service is a node", () => {
      const g = mermaidEdges(md);
      expect(g.edges).toEqual(inventoryEdges(inv));
      expect(g.nodes).toEqual(inv.services.map((s) => s.name).sort());
      expect(g.edges.length).toBeGreaterThanOrEqual(11);
    });

    it("every service is in the table with its container, ports, limits and health check", () => {
      const rows = md.split("\n").filter((l) => /^\| [a-z]/.test(l));
      for (const s of inv.services) {
        const row = rows.find((r) => r.startsWith(`| ${s.name} |`));
        expect(row, s.name).toBeDefined();
        if (s.containerName) expect(row).toContain(s.containerName);
        for (const p of s.ports ?? []) expect(row, `${s.name} port ${p.container}`).toContain(String(p.container));
        if (s.limits) expect(row).toContain(`${s.limits.cpus} CPU / ${s.limits.memoryMb} MB`);
        if (s.shmSizeMb) expect(row).toContain(`shm ${s.shmSizeMb} MB`);
        if (s.healthcheck) expect(row).toContain(`every ${s.healthcheck.interval}`);
      }
      expect(md).toContain("3002→3000 (published)");
    });

    it("prints the inventory's start, stop and rolling-restart orders, and each restart comes after what it depends on", () => {
      const list = (heading: string) => {
        const after = md.split(heading)[1]!;
        return after.split("\n\n")[1]!.split("\n").map((l) => l.replace(/^\d+\. /, ""));
      };
      expect(list("Start order, layer by layer").map((l) => l.split(", "))).toEqual(startOrder(inv));
      expect(list("Stop order (dependents first)").map((l) => l.split(", "))).toEqual(stopOrder(inv));
      const rolling = list("Rolling restart (operation");
      expect(rolling).toEqual(rollingRestartOrder(inv, { roles: ["data", "app"], exclude: ["postgres"] }));
      for (const s of rolling) {
        for (const d of inv.services.find((x) => x.name === s)!.dependsOn ?? []) {
          if (rolling.includes(d.service)) expect(rolling.indexOf(d.service), `${d.service} before ${s}`).toBeLessThan(rolling.indexOf(s));
        }
      }
    });

    it("documents every operation action and recovery switch of the config schema, and re-exports the schema's lists", () => {
      expect(doc.GOODGO_OPERATION_ACTIONS).toBe(GOODGO_OPERATION_ACTIONS);
      expect(doc.GOODGO_RECOVERY_SWITCHES).toBe(GOODGO_RECOVERY_SWITCHES);
      const actionsInSnippets = new Set(yamlBlocks(md).flatMap((y) => (parse(y).config["lazarus:goodgo"].operations ?? []).map((o: any) => o.action)));
      for (const a of GOODGO_OPERATION_ACTIONS) {
        expect(md, a).toContain(`### \`${a}\` — `);
        expect(actionsInSnippets.has(a), a).toBe(true);
      }
      const switchesInSnippets = new Set(yamlBlocks(md).flatMap((y) => Object.keys(parse(y).config["lazarus:goodgo"].recovery ?? {})));
      for (const s of GOODGO_RECOVERY_SWITCHES) {
        expect(md, s).toContain(`### \`recovery.${s}\` — `);
        expect(switchesInSnippets.has(s), s).toBe(true);
      }
    });

    it(`every YAML snippet, merged into Pulumi.${stack}.yaml, passes the stack's config schema and cross-key checks`, () => {
      const blocks = yamlBlocks(md);
      expect(blocks.length).toBeGreaterThan(20);
      for (const y of blocks) {
        expect(y.startsWith(`# Pulumi.${stack}.yaml\n`), y).toBe(true);
        const patch = parse(y).config["lazarus:goodgo"];
        const merged = merge(raw, patch);
        const r = goodgoSchema.safeParse(merged);
        expect(r.success, `${y}\n${r.success ? "" : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n")}`).toBe(true);
        const problems = goodgo.check(r.data!, stack);
        expect(problems, y).toEqual([]);
      }
    });

    it("covers every incident of sections 3.1-3.10 and 4.1-4.6 and names the stack's pulumi up", () => {
      const sections = [...md.matchAll(/^### (\d\.\d+) /gm)].map((m) => m[1]);
      for (const s of ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6"]) expect(sections, s).toContain(s);
      expect(md).toContain(`pulumi up --stack ${stack}`);
    });
  });
}

describe("renderGoodgoRunbook input handling", () => {
  const cfg = parsedConfig(stackGoodgo("prod"));

  it("follows the inventory it is given: a new dependency shows up as a new edge and changes the orders", () => {
    const services = goodgoInventory().services.map((s) => (s.name === "ai-services" ? { ...s, dependsOn: [{ service: "redis", condition: "healthy" as const }] } : s));
    const inv = defineInventory(services);
    const md = renderGoodgoRunbook({ config: cfg, stack: "prod", inventory: inv });
    expect(mermaidEdges(md).edges).toContain("ai-services -healthy-> redis");
    expect(mermaidEdges(md).edges).toEqual(inventoryEdges(inv));
    expect(mermaidGraph(inv)).toContain(`${mermaidId("ai-services")} -->|healthy| redis`);
  });

  it("renders the stack's own inventory (nginx and the exporters included) with every one of its edges and services", () => {
    const inv = goodgoStackInventory(cfg, "prod");
    expect(inv.services.length).toBeGreaterThan(14);
    const md = renderGoodgoRunbook({ config: cfg, stack: "prod", inventory: inv });
    expect(mermaidEdges(md).edges).toEqual(inventoryEdges(inv));
    expect(mermaidEdges(md).nodes).toEqual(inv.services.map((s) => s.name).sort());
    for (const s of inv.services) expect(md, s.name).toContain(`| ${s.name} |`);
  });

  it("on an unprotected stack, destructive examples carry no confirm; bad input fails naming the field", () => {
    const md = renderGoodgoRunbook({ config: parsedConfig(stackGoodgo("staging")), stack: "staging", inventory: goodgoInventory() });
    expect(md).not.toContain("confirm:");
    expect(() => renderGoodgoRunbook({ config: cfg, stack: "Prod!", inventory: goodgoInventory() })).toThrow(RenderInputError);
    expect(() => renderGoodgoRunbook({ config: cfg, stack: "Prod!", inventory: goodgoInventory() })).toThrow(expect.objectContaining({ renderer: "runbook" }));
    expect(() => renderGoodgoRunbook({ config: cfg, stack: "prod", inventory: { services: [] } })).toThrow(/inventory/);
    expect(() => renderGoodgoRunbook({ config: cfg, stack: "prod", inventory: goodgoInventory(), idPrefix: "Bad Prefix" })).toThrow(/idPrefix/);
  });
});

describe("what the recovery switches run", () => {
  const cfg = parsedConfig(stackGoodgo("prod"));
  const inv = goodgoStackInventory(cfg, "prod");
  const md = renderGoodgoRunbook({ config: cfg, stack: "prod", inventory: inv });

  /** The numbered list under a heading, as its items. */
  const numberedAfter = (heading: string) => {
    const section = md.split(heading)[1]!.split("\n### ")[0]!;
    return [...section.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1]);
  };

  it("lists each step's `what` of the host recovery chain the stack declares, in order", () => {
    const withHost = parsedConfig(merge(stackGoodgo("prod"), { recovery: { host: { label: "x", confirm: "prod/goodgo/recover-host" } } }));
    const steps = hostRecoverySteps(withHost, inv).map((s) => s.what);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    expect(numberedAfter("### `recovery.host`: what a full host recovery does")).toEqual(steps);
  });

  it("lists each step's `what` of a database restore with cutover, in order", () => {
    const withRestore = parsedConfig(
      merge(stackGoodgo("prod"), { recovery: { database: { label: "x", backup: "goodgo_20261123T020000Z.dump", cutover: true, confirm: "prod/goodgo/database-cutover" } } }),
    );
    const steps = databaseRestoreSteps(withRestore, inv).map((s) => s.what);
    expect(steps).toContain("stop the application services and PgBouncer");
    expect(numberedAfter("### `recovery.database`: what a database restore with cutover does")).toEqual(steps);
  });
});

describe("the generic runbook renderer", () => {
  it("names no platform and imports nothing from a platform's module or schema", () => {
    const source = readFileSync(resolve(root, "renderers/runbookDoc.ts"), "utf8");
    expect(source).not.toMatch(/goodgo|kro/i);
    expect(source).not.toMatch(/from "\.\.\/(stacks|config)\//);
  });
});
