// Patterns that the stack config (config/primitives.ts), the command builders (lib/opsCommands.ts) and the host
// scripts (scripts/ops/lib-cert.sh, which bash cannot import) must agree on. Defined once here; a test runs the shell's
// copies against the same values and fails if they disagree (test/lib/patterns-shared-with-shell.test.ts).

/** A lowercase DNS name with at least two labels (what certbot and the scripts accept; CERT_DOMAIN_RE in the shell). */
export const DOMAIN_NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A certbot lineage name (CERT_NAME_RE in the shell). */
export const CERT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** An email address, as loosely as certbot takes one (CERT_EMAIL_RE in the shell). */
export const EMAIL_ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
