// Shell quoting for every command line Lazarus sends to a host: one implementation, tested against real bash and dash
// (test/lib/opsCommands.test.ts).

/** Thrown for a word no shell argument can carry. */
export class ShellQuoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShellQuoteError";
  }
}

const SAFE_WORD = /^[A-Za-z0-9_\/.,:=@%+-]+$/;

/** Quotes one word for a POSIX shell: safe for any string without NUL, including quotes, spaces and `$(...)`. */
export function shellQuote(word: string | number): string {
  const s = String(word);
  if (s.includes("\0")) throw new ShellQuoteError("shellQuote: an argument cannot contain a NUL byte");
  if (s === "") return "''";
  if (SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each word and joins them with spaces. */
export function shellJoin(words: readonly (string | number)[]): string {
  return words.map(shellQuote).join(" ");
}

/** Short names used by the stacks. */
export const shq = shellQuote;
export const shellCommand = (...words: (string | number)[]): string => shellJoin(words);
