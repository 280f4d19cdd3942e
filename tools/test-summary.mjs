// Prints vitest's result as the plain closing line CI reads: "N passed, N failed" (", N skipped" when any).
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".vitest-results.json";
const r = JSON.parse(readFileSync(file, "utf8"));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = r.numFailedTests > 0 || r.numTotalTests === 0 ? 1 : 0;
