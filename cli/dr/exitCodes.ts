// Exit codes of `lazarus dr`, one list for the code, --help and the README. 0, 1 and 2 mean what they mean for every
// CLI here (cli/plan.ts, cli/runMain.ts).
export const DR_EXIT = {
  ok: 0,
  /** Anything unexpected (a bug, the engine missing): the message says what. */
  unexpected: 1,
  /** Bad input: a flag, the stack file, the switched config, a drill report, the state backend, a missing passphrase. Nothing ran. */
  badInput: 2,
  /** A protected stack's confirmation was missing or wrong. Refused before any preview or up changed anything. */
  refused: 4,
  /** The rebuild or drill ran and failed: a step, the up, or the health check (the report names the step). */
  failed: 5,
  /** The drill succeeded but an RTO or RPO target of a runbook was missed. */
  targetMissed: 6,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (plan printed; rebuild healthy; drill within every target)
  1  unexpected error (the message says what)
  2  bad input: unknown stack or platform, bad flag, config the switches make invalid, unreadable drill report, no state
     backend named (or both --backend-url and --backend-dir), the passphrase or token the secrets provider needs missing;
     nothing ran
  4  refused: the protected stack's confirmation was missing or wrong; nothing was changed
  5  failed: a step of the rebuild or drill failed, or health was not reached (the report names the step and what next)
  6  drill done, but an RTO or RPO target of the runbook was missed
`;
