/** Quotes one word for a POSIX shell: safe for any byte string, including quotes, spaces and `$(...)`. */
export function shq(word: string | number): string {
  const s = String(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Joins a command and its arguments, each quoted. */
export function shellCommand(...words: (string | number)[]): string {
  return words.map(shq).join(" ");
}
