// An operator runbook (Markdown) for any platform, rendered from a typed model the platform builds out of the same data
// it deploys from. Pure: no Pulumi, no I/O, no platform names. From the model's service inventory the renderer derives:
//   - the services table (image, ports, limits, shm, health check, restart, dependencies) and the named volumes;
//   - the dependency graph as a Mermaid `graph`, one edge per `dependsOn` entry (labelled with its condition);
//   - which dependents restart after a service (lib/inventory's dependentsOf).
// Everything else is the platform's input, printed as given: the start / stop / rolling-restart orders, notes (such as
// the backup schedule), how a change is made, the operations and recovery switches with the exact stack-config snippet
// and commands of each, the steps each recovery runs (their `what` texts), and the incidents with their symptoms,
// steps, snippets and commands.
import { dependentsOf, namedVolumes, type HealthCheck, type ServiceInventory, type ServiceSpec } from "../lib/inventory";
import { refuseField } from "./renderInputError";

const RENDERER = "runbook";

/** An operation or recovery switch of the stack config: what it does and the snippet that turns it on. */
export interface RunbookSwitch {
  /** How the stack config names it, e.g. "rolling-restart" or "recovery.host" (printed as code). */
  name: string;
  title: string;
  /** Where the source runbook covers it, e.g. "4.3" or "3.1, 3.4". */
  section: string;
  /** What `pulumi up` runs for it. */
  does: string;
  /** The confirmation value it needs on this stack, when it needs one. */
  confirm?: string;
  /** The exact stack-file snippet (YAML, its first line a comment naming the file). */
  stackConfig: string;
  /** The shell commands that carry the snippet out. */
  commands: string;
}

export interface RunbookSwitchGroup {
  /** Heading, e.g. "Operations (`operations:`)". */
  title: string;
  switches: RunbookSwitch[];
}

/** What one recovery switch runs, step by step (one command resource per step, in order). */
export interface RecoveryProcedure {
  /** The switch, e.g. "recovery.host". */
  switchName: string;
  /** e.g. "what a full host recovery does". */
  title: string;
  /** Each step's `what` text, in the order the steps run. */
  steps: string[];
  /** What follows the last step, if anything. */
  after?: string;
}

export interface RunbookIncidentStep {
  text: string;
  /** The exact stack-file snippet for this step, if it is a config change. */
  stackConfig?: string;
}

export interface RunbookIncident {
  /** Where the source runbook covers it, e.g. "3.1". */
  section: string;
  title: string;
  symptoms: string;
  steps: RunbookIncidentStep[];
  /** The shell commands that carry the steps' snippets out (none when no step changes the config). */
  commands?: string;
}

export interface RunbookModel {
  /** The platform's title, e.g. "Shop". */
  platform: string;
  /** Stack name: the file the snippets go into is Pulumi.<stack>.yaml. */
  stack: string;
  /** The stack-config key the platform reads, e.g. "lazarus:shop". */
  configKey: string;
  /** The runbook the document is generated from, e.g. "runbook 001 (Shop — Production Runbook)". */
  source: string;
  /** One paragraph under the header (deploy directory, project, images). */
  summary: string;
  /**
   * The services the stack deploys (a compose platform), with their start, stop and rolling-restart orders; or, on a
   * host without compose, `processes`: what runs there and what manages it.
   */
  inventory?: ServiceInventory;
  /**
   * Headings of the services table's container and image columns, for services that are not containers (a PM2 fleet:
   * "PM2 name", "Entry script"); default "Container", "Image".
   */
  serviceColumns?: { container: string; image: string };
  /** Start layers (each starts once the previous one is healthy) and stop layers (dependents first). */
  startOrder?: string[][];
  stopOrder?: string[][];
  /** The rolling restart: the sentence that introduces it and its services in order. */
  rollingRestart?: { description: string; services: string[] };
  /** A host without compose: each process, what manages it (systemd unit, PM2 app) and where its files are. */
  processes?: { name: string; managedBy: string; details: string }[];
  /** Sections of bullet points after the orders, e.g. the backup schedule. */
  notes: { title: string; bullets: string[] }[];
  /** How an operation or recovery is run, as numbered steps. */
  howTo: string[];
  switchGroups: RunbookSwitchGroup[];
  recoveryProcedures: RecoveryProcedure[];
  /** Heading of the incidents, e.g. "Incidents (sections 3 and 4)". */
  incidentsTitle: string;
  incidents: RunbookIncident[];
}

/** Mermaid node id for a service name (Mermaid ids cannot hold "-"). */
export function mermaidId(service: string): string {
  return service.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Compose interpolation shown as the variable it reads (`${IMAGE_TAG:-latest}` -> `$IMAGE_TAG`), `$$` as `$`. */
const display = (s: string) => s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?][^}]*)?\}/g, "$$$1").replace(/\$\$/g, "$");

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: string) => `\`${cell(display(s)).replace(/`/g, "'")}\``;

function healthText(h: HealthCheck | undefined): string {
  if (!h) return "—";
  const cmd = "exec" in h.test ? h.test.exec.filter((x, i) => !(i === 0 && x === "CMD")).join(" ") : h.test.shell;
  const timing = [h.interval && `every ${h.interval}`, h.timeout && `timeout ${h.timeout}`, h.retries && `${h.retries} retries`, h.startPeriod && `start ${h.startPeriod}`]
    .filter(Boolean)
    .join(", ");
  return `${code(cmd)}${timing ? ` (${timing})` : ""}`;
}

function portsText(s: ServiceSpec): string {
  const ps = (s.ports ?? []).map((p) => {
    const what = p.description ? ` ${p.description}` : "";
    return p.published ? `${p.bind ? `${p.bind}:` : ""}${p.published}→${p.container}${what} (published)` : `${p.container}${what} (internal)`;
  });
  return ps.length ? ps.join(", ") : "—";
}

/** The dependency graph: one node per service, one edge per dependsOn entry, pointing at what the service needs. */
export function mermaidGraph(inv: ServiceInventory): string {
  const byName = [...inv.services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = ["graph TD"];
  for (const s of byName) lines.push(`  ${mermaidId(s.name)}["${s.name}"]`);
  for (const s of byName) {
    for (const d of [...(s.dependsOn ?? [])].sort((a, b) => (a.service < b.service ? -1 : 1))) {
      lines.push(`  ${mermaidId(s.name)} -->|${d.condition}| ${mermaidId(d.service)}`);
    }
  }
  return lines.join("\n");
}

/** The compose sections: services, volumes, dependency graph, orders. */
function renderServices(
  P: (...xs: string[]) => number,
  numbered: (items: string[]) => void,
  inv: ServiceInventory,
  startOrder: string[][],
  stopOrder: string[][],
  rollingRestart: { description: string; services: string[] },
  columns: { container: string; image: string } = { container: "Container", image: "Image" },
): void {
  const m = { startOrder, stopOrder, rollingRestart };
  P("## Services", "", `| Service | ${columns.container} | ${columns.image} | Role | Ports | Limits | Health check | Restart | Depends on |`, "|---|---|---|---|---|---|---|---|---|");
  for (const s of inv.services) {
    const limits = s.limits ? `${s.limits.cpus} CPU / ${s.limits.memoryMb} MB${s.shmSizeMb ? `, shm ${s.shmSizeMb} MB` : ""}` : "—";
    const deps = (s.dependsOn ?? []).map((d) => `${d.service} (${d.condition})`).join(", ") || "—";
    P(`| ${s.name} | ${s.containerName ?? "—"} | ${code(s.image)} | ${s.role} | ${portsText(s)} | ${limits} | ${healthText(s.healthcheck)} | ${s.restart ?? "unless-stopped"} | ${deps} |`);
  }
  P("");
  const vols = namedVolumes(inv);
  if (vols.length) {
    P("### Volumes", "", "| Volume | Mounted by |", "|---|---|");
    for (const v of vols) {
      const by = inv.services.filter((s) => (s.volumes ?? []).some((x) => x.kind === "volume" && x.source === v)).map((s) => {
        const mount = s.volumes!.find((x) => x.kind === "volume" && x.source === v)!;
        return `${s.name} at ${code(mount.target)}${mount.readOnly ? " (read-only)" : ""}`;
      });
      P(`| ${v} | ${by.join(", ")} |`);
    }
    P("");
  }

  // ---------------------------------------------------------------- graph and orders
  P("## Dependency graph", "", "An arrow points from a service to what it needs before it starts (label: the `depends_on` condition).", "");
  P("```mermaid", mermaidGraph(inv), "```", "");
  P("## Orders (derived from the dependencies)", "");
  P("Start order, layer by layer (a layer starts once the previous one is healthy):", "");
  numbered(m.startOrder.map((layer) => layer.join(", ")));
  P("", "Stop order (dependents first):", "");
  numbered(m.stopOrder.map((layer) => layer.join(", ")));
  P("", m.rollingRestart.description, "");
  numbered(m.rollingRestart.services);
  P("", "Restarting a service leaves its dependents holding old connections; these restart after it (in this order):", "", "| Service | Dependents |", "|---|---|");
  for (const s of inv.services) {
    const d = dependentsOf(inv, s.name);
    if (d.length) P(`| ${s.name} | ${d.join(" → ")} |`);
  }
  P("");
}

/** The Markdown runbook. Throws RenderInputError for a stack name that is not one or an empty inventory. */
export function renderRunbook(m: RunbookModel): string {
  const { stack, inventory: inv } = m;
  if (!stack || !/^[a-z0-9][a-z0-9-]*$/.test(stack)) refuseField(RENDERER, "stack", `must be a stack name such as prod, got ${JSON.stringify(stack)}`);
  if (inv === undefined) {
    if (!m.processes?.length) refuseField(RENDERER, "processes", "must list what runs on the host when there is no service inventory");
  } else if (!inv.services?.length) {
    refuseField(RENDERER, "inventory", "must hold the services the stack deploys");
  } else if (!m.startOrder || !m.stopOrder || !m.rollingRestart) {
    refuseField(RENDERER, "startOrder", "a service inventory needs its start, stop and rolling-restart orders");
  }
  const L: string[] = [];
  const P = (...xs: string[]) => L.push(...xs);
  const numbered = (items: string[]) => items.forEach((x, i) => P(`${i + 1}. ${x}`));

  // ---------------------------------------------------------------- header
  P(`# ${m.platform} operator runbook — stack \`${stack}\``, "");
  P(
    `Generated by Lazarus (renderers/runbookDoc.ts) from ${inv ? "the service inventory and " : ""}\`Pulumi.${stack}.yaml\` (\`${m.configKey}\`).`,
    `Do not edit: change the inventory or the stack config and regenerate. Source: ${m.source}.`,
    "",
    m.summary,
    "",
  );

  if (inv) renderServices(P, numbered, inv, m.startOrder!, m.stopOrder!, m.rollingRestart!, m.serviceColumns);
  if (m.processes?.length) {
    P("## Processes", "", "| Process | Managed by | Details |", "|---|---|---|");
    for (const p of m.processes) P(`| ${cell(p.name)} | ${cell(p.managedBy)} | ${cell(p.details)} |`);
    P("");
  }

  // ---------------------------------------------------------------- notes, how a change is made
  for (const n of m.notes) P(`## ${n.title}`, "", ...n.bullets.map((b) => `- ${b}`), "");
  P("## How an operation or recovery is run", "");
  numbered(m.howTo);
  P("");

  // ---------------------------------------------------------------- operations and recovery switches
  for (const g of m.switchGroups) {
    P(`## ${g.title}`, "");
    for (const s of g.switches) {
      P(`### \`${s.name}\` — ${s.title}`, "", `Runbook section ${s.section}. \`pulumi up\` runs: ${s.does}`, "");
      if (s.confirm) P(`On \`${stack}\` it needs \`confirm: ${s.confirm}\`.`, "");
      P("```yaml", s.stackConfig, "```", "", "```sh", s.commands, "```", "");
    }
  }

  // ---------------------------------------------------------------- what each recovery runs
  if (m.recoveryProcedures.length) {
    P("## What the recovery switches run, step by step", "");
    for (const r of m.recoveryProcedures) {
      P(`### \`${r.switchName}\`: ${r.title}`, "", "`pulumi up` runs one command on the host per step, in this order; a step starts only after the one before it succeeded:", "");
      numbered(r.steps);
      P("");
      if (r.after) P(r.after, "");
    }
  }

  // ---------------------------------------------------------------- incidents
  P(`## ${m.incidentsTitle}`, "");
  for (const inc of m.incidents) {
    P(`### ${inc.section} ${inc.title}`, "", `Symptoms: ${inc.symptoms}`, "");
    inc.steps.forEach((s, i) => {
      P(`${i + 1}. ${s.text}`);
      if (s.stackConfig) P("", "```yaml", s.stackConfig, "```", "");
    });
    if (inc.commands) P("", "```sh", inc.commands, "```");
    P("");
  }
  return `${L.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}
