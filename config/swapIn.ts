// The second half of "restore beside the live database, then cut over": swapping in the copy an earlier restore step
// made and the operator verified (`pg-restore.sh --swap-in`), instead of restoring the backup again. One schema, one
// check and one argument list for every platform whose PostgreSQL database is restored with pg-restore.sh (Bunty's
// recovery.hostDatabase, GoodGo's recovery.database, Pencom's recovery.coreDatabase).
import { z } from "zod";
import { requireConfirm, type Problem } from "./checks";

// The names pg-restore.sh gives, each cut to fit PostgreSQL's 63-byte names: a restored copy is
// `<the first 40 characters of the database>_restore_<UTC yyyymmddHHMMSS>` (40 + 9 + 14), the live database kept as the
// rollback point `<the first 36 characters>_pre_restore_<same stamp>` (36 + 13 + 14). The shell's copy of this rule is
// in scripts/backup/lib-pg.sh (restored_copy_prefix, rollback_name, is_restored_copy_of), which pg-restore.sh uses;
// test/lib/patterns-shared-with-shell.test.ts runs both on the same names, and the script against a real server.
const RESTORED_COPY_CHARS = 40;
const ROLLBACK_CHARS = 36;

/** `<the first 40 characters of the database>_restore_`: what every restored copy of it starts with. */
export function restoredCopyPrefix(database: string): string {
  return `${database.slice(0, RESTORED_COPY_CHARS)}_restore_`;
}

/** The rollback point a cutover keeps: `<the first 36 characters of the database>_pre_restore_<stamp>`. */
export function rollbackName(database: string, stamp = "<timestamp>"): string {
  return `${database.slice(0, ROLLBACK_CHARS)}_pre_restore_${stamp}`;
}

/** `name` is a restored copy of `database` as pg-restore.sh names it (never a rollback point: see lib-pg.sh). */
export function isRestoredCopyOf(database: string, name: string): boolean {
  const prefix = restoredCopyPrefix(database);
  return name.startsWith(prefix) && /^[0-9]{14}$/.test(name.slice(prefix.length)) && !/_pre_restore_[0-9]{14}$/.test(name);
}

/** A restored copy's name for examples and runbooks (the timestamp is the restore's, from its result line). */
export function restoredCopyExample(database: string): string {
  return `${restoredCopyPrefix(database)}20261201021500`;
}

/** The `swapIn` key: a restored copy's name, `example` naming one of the platform's database. */
export function swapInSchema(example: string) {
  const message = `is not a restored database's name (example: ${example}, from the restore step's result)`;
  // a `_pre_restore_` name is a rollback point, never a copy to swap in (pg-restore.sh --swap-in refuses it too)
  return z
    .string()
    .regex(/^[a-z_][a-z0-9_]*_restore_[0-9]{14}$/, { message })
    .refine((v) => !/_pre_restore_[0-9]{14}$/.test(v), { message });
}

export interface SwapInSwitch {
  stack: string;
  platform: string;
  /** The key path of the switch under the platform's root (example: recovery.database). */
  path: string;
  /** The live database the copy replaces. */
  database: string;
  swapIn: string;
  confirm: string | undefined;
  /** The confirmation's name on protected stacks (the platform's cutover: prod/<platform>/<what>). */
  confirmWhat: string;
  /** What the swap ends on this platform (example: "the app's database sessions"). */
  ends: string;
  /** The switch's keys that restore a backup or cut over another way, set alongside swapIn: each is refused. */
  alongside: Record<string, boolean>;
}

/**
 * A swap-in switch's problems: a copy of another database (pg-restore.sh -d would put it under this one's name), a
 * restore or a cutover of another kind in the same run (restoring and swapping in are two runs of the switch), and the
 * confirmation on protected stacks.
 */
export function swapInProblems(s: SwapInSwitch): Problem[] {
  const problems: Problem[] = [];
  const example = restoredCopyExample(s.database);
  if (!isRestoredCopyOf(s.database, s.swapIn)) {
    problems.push({
      path: `${s.path}.swapIn`,
      message: `"${s.swapIn}" is not a restored copy of ${s.database}; name the database the restore step's result line gave (example: ${example})`,
    });
  }
  for (const [key, set] of Object.entries(s.alongside)) {
    if (!set) continue;
    problems.push({
      path: `${s.path}.${key}`,
      message: `cannot be combined with swapIn: swapIn cuts over to the copy an earlier run of this switch restored and you verified, ${key} would restore or cut over again; pick one (example: {label: r1, swapIn: ${example}})`,
    });
  }
  problems.push(
    ...requireConfirm(s.stack, s.platform, s.confirmWhat, s.confirm, `${s.path}.confirm`, `swapping ${s.swapIn} in ends ${s.ends} and makes the restored data live (the old database is kept as ${keptAs(s.database)})`),
  );
  return problems;
}

/** The rollback point's name in a message, saying so when the database's name is cut to fit. */
function keptAs(database: string): string {
  const name = rollbackName(database);
  return database.length > ROLLBACK_CHARS ? `${name}: the name's first ${ROLLBACK_CHARS} characters, to fit PostgreSQL's 63` : name;
}

/** pg-restore.sh's arguments for the swap: the live database named, so the script refuses a copy of another. */
export function swapInArgs(database: string, swapIn: string): string[] {
  return ["--dbname", database, "--swap-in", swapIn];
}
