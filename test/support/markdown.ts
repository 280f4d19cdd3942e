// GitHub-flavoured Markdown rendered by cmark-gfm (Debian package cmark-gfm), the C library GitHub's own renderer is
// built on, with the extensions GitHub enables for comments and issues (tables, strikethrough, autolinks, tagfilter).
// What it shows: the structure a reader sees (headings, tables, lists, code blocks, raw <details> HTML kept).
// What it cannot: GitHub's post-processing (sanitising HTML, @mentions, #references, emoji shortcodes) and size limits.
import { spawnSync } from "node:child_process";

export function gfmToHtml(markdown: string): string {
  const r = spawnSync("cmark-gfm", ["--unsafe", "-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tagfilter"], {
    input: markdown,
    encoding: "utf8",
  });
  if (r.error) throw new Error(`cmark-gfm could not run (apt-get install cmark-gfm; tools/install-deps.sh does): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cmark-gfm exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The headings (h2-h4) of rendered HTML, in order, as "h3 prod". */
export function headings(html: string): string[] {
  return [...html.matchAll(/<(h[2-4])>(.*?)<\/h[2-4]>/g)].map((m) => `${m[1]} ${m[2].replace(/<[^>]+>/g, "")}`);
}
