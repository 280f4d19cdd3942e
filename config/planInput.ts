// A renderer refuses input with RenderInputError, naming its own field. A platform's plan renders from stack-config keys,
// so it wraps each render in `renderedFrom(key, ...)`: the error then names the stack-config key that fed the renderer,
// and the loader reports it like any other config problem (file, key, what is wrong) before anything is declared.
import { RenderInputError } from "../renderers/renderInputError";

export class PlanInputError extends Error {
  constructor(
    /** Key path under the platform's root, e.g. "app.sites". */
    readonly path: string,
    readonly renderer: string,
    readonly problems: string[],
  ) {
    super(`${path}: the ${renderer} renderer refused it: ${problems.join("; ")}`);
    this.name = "PlanInputError";
  }
}

/** Runs a render; a RenderInputError becomes a PlanInputError naming `path`, the stack-config key it came from. */
export function renderedFrom<T>(path: string, render: () => T): T {
  try {
    return render();
  } catch (e) {
    if (e instanceof RenderInputError) throw new PlanInputError(path, e.renderer, e.problems);
    throw e;
  }
}
