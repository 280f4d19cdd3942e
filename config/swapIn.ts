// The second half of "restore beside the live database, then cut over": swapping in the copy an earlier restore step
// made and the operator verified (`pg-restore.sh --swap-in`), instead of restoring the backup again. One schema, one
// check and one argument list for every platform whose PostgreSQL database is restored with pg-restore.sh (Bunty's
// recovery.hostDatabase, GoodGo's recovery.database, Pencom's recovery.coreDatabase).
import { z } from "zod";
import { requireConfirm, type Problem } from "./checks";

/** pg-restore.sh names a restored copy `<the first 40 characters of the database>_restore_<UTC yyyymmddHHMMSS>`. */
export function restoredCopyPrefix(database: string): string {
  return `${database.slice(0, 40)}_restore_`;
}

/** A restored copy's name for examples and runbooks (the timestamp is the restore's, from its result line). */
export function restoredCopyExample(database: string): string {
  return `${restoredCopyPrefix(database)}20261201021500`;
}

/** The `swapIn` key: a restored copy's name, `example` naming one of the platform's database. */
export function swapInSchema(example: string) {
  return z.string().regex(/^[a-z_][a-z0-9_]*_restore_[0-9]{14}$/, { message: `is not a restored database's name (example: ${example}, from the restore step's result)` });
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
  if (!s.swapIn.startsWith(restoredCopyPrefix(s.database))) {
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
    ...requireConfirm(s.stack, s.platform, s.confirmWhat, s.confirm, `${s.path}.confirm`, `swapping ${s.swapIn} in ends ${s.ends} and makes the restored data live (the old database is kept as ${s.database}_pre_restore_<timestamp>)`),
  );
  return problems;
}

/** pg-restore.sh's arguments for the swap: the live database named, so the script refuses a copy of another. */
export function swapInArgs(database: string, swapIn: string): string[] {
  return ["--dbname", database, "--swap-in", swapIn];
}
