// Cross-key checks every platform shares: confirmations of destructive switches on protected stacks and operation ids.
// A platform's `check` composes these with its own rules; each problem names the key under the platform's root.

/** A problem found by a cross-key check: the key path under the platform's root and a sentence that ends with the fix. */
export interface Problem {
  path: string;
  message: string;
}

/** The value an operator must write into a `confirm` key to allow a destructive switch on a protected stack. */
export function confirmationToken(stack: string, platform: string, what: string): string {
  return `${stack}/${platform}/${what}`;
}

/** Stacks whose destructive switches need confirmation. */
export function isProtectedStack(stack: string): boolean {
  return stack === "prod" || stack.startsWith("prod-");
}

/** On a protected stack, `given` must equal the confirmation token for `what`; `why` says what the switch destroys. */
export function requireConfirm(stack: string, platform: string, what: string, given: string | undefined, path: string, why: string): Problem[] {
  if (!isProtectedStack(stack)) return [];
  const token = confirmationToken(stack, platform, what);
  if (given === token) return [];
  return [
    {
      path,
      message: `${given === undefined ? "is missing" : `${JSON.stringify(given)} is not the confirmation`}: ${why} on stack ${stack}; to proceed set it to "${token}"`,
    },
  ];
}

/** Every operation runs once per id, so an id used twice would silently run once: refuse it. */
export function duplicateOperationIds(operations: readonly { id: string }[]): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  operations.forEach((op, i) => {
    if (seen.has(op.id)) problems.push({ path: `operations[${i}].id`, message: `"${op.id}" is used twice; every operation needs its own id (example: ${op.id}-2)` });
    seen.add(op.id);
  });
  return problems;
}
