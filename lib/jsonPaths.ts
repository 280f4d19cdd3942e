/** Sets `value` at a dot path ("database.ssl.caFile") in a JSON object, creating intermediate objects. Pure. */
export function setJsonPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== "object" || Array.isArray(next)) {
      throw new Error(`cannot set "${path}": "${key}" already holds a ${Array.isArray(next) ? "list" : typeof next}, not an object`);
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}
