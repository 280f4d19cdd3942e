// The files a program run renders for hosts, recorded as components declare them, so the offline plan can write them
// out (`--out DIR`) and the tests can hand each to its real validator. Secrets are recorded as such and never written.
import type * as pulumi from "@pulumi/pulumi";

export interface RenderedFile {
  platform: string;
  host: string;
  path: string;
  mode: string;
  secret: boolean;
  content: pulumi.Input<string>;
}

const files: RenderedFile[] = [];

export function recordRenderedFile(file: RenderedFile): void {
  files.push(file);
}

/** Returns and forgets what was recorded: each program run starts from an empty list. */
export function takeRenderedFiles(): RenderedFile[] {
  return files.splice(0, files.length);
}
