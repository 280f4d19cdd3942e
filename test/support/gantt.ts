// A strict structural check of the Mermaid gantt blocks lib/dr/markdown.ts writes, for lack of mermaid-cli offline.
// It checks: the header lines, `dateFormat x` (Unix milliseconds), sections, and every task line as
// `<name without : # ;> :<done|crit|active>, t<n>, <start ms>, <end ms>` with unique ids and start < end.
// It does NOT check that Mermaid itself parses the block and lays the chart out (its grammar accepts more than this;
// a line this accepts could still be drawn differently than meant, e.g. a very long name).
/** Throws with the offending line when the gantt block breaks the structure Mermaid's gantt grammar requires. */
export function checkGantt(block: string): { sections: string[]; tasks: { name: string; tag: string; id: string; start: number; end: number }[] } {
  const lines = block.split("\n");
  if (lines[0] !== "gantt") throw new Error(`first line is not "gantt": ${lines[0]}`);
  const sections: string[] = [];
  const tasks: { name: string; tag: string; id: string; start: number; end: number }[] = [];
  let dateFormat: string | undefined;
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^ {4}title [^\n:#;]+$/.exec(line))) continue;
    if ((m = /^ {4}dateFormat (\S+)$/.exec(line))) {
      dateFormat = m[1];
      continue;
    }
    if (/^ {4}axisFormat %[HMS](:%[HMS])*$/.test(line)) continue;
    if ((m = /^ {4}section ([^:#;]+)$/.exec(line))) {
      sections.push(m[1]);
      continue;
    }
    m = /^ {4}([^:#;]+?) :(done|crit|active), (t\d+), (\d{13}), (\d{13})$/.exec(line);
    if (!m) throw new Error(`not a gantt line: ${JSON.stringify(line)}`);
    if (!sections.length) throw new Error(`task before any section: ${line}`);
    const task = { name: m[1], tag: m[2], id: m[3], start: Number(m[4]), end: Number(m[5]) };
    if (!(task.start < task.end)) throw new Error(`task ends before it starts: ${line}`);
    if (tasks.some((t) => t.id === task.id)) throw new Error(`duplicate task id ${task.id}`);
    tasks.push(task);
  }
  if (dateFormat !== "x") throw new Error(`dateFormat is ${dateFormat}, not x (Unix milliseconds)`);
  return { sections, tasks };
}
