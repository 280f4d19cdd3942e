// The one error every renderer throws for input it cannot turn into a valid file. Each problem names the renderer's
// field, what was wrong and (where it helps) an example; a platform's plan maps the renderer back to the stack-file key
// that fed it, so the operator sees file, key and fix before any resource is declared.

/** "<field>: <what is wrong, ending with the fix>", e.g. `sites[0].serverNames[0]: "a b" is not a server name`. */
export type RenderProblem = string;

export class RenderInputError extends Error {
  constructor(
    /** Which renderer refused, e.g. "nginx", "compose", "prometheus rules". */
    readonly renderer: string,
    readonly problems: RenderProblem[],
  ) {
    super(`invalid ${renderer} input:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "RenderInputError";
  }
}

/** Throws one RenderInputError listing every problem, or returns when there are none. */
export function refuseProblems(renderer: string, problems: RenderProblem[]): void {
  if (problems.length) throw new RenderInputError(renderer, problems);
}

/** Throws a RenderInputError for one field, for renderers that stop at the first problem. */
export function refuseField(renderer: string, field: string, problem: string): never {
  throw new RenderInputError(renderer, [`${field}: ${problem}`]);
}
