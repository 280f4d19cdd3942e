// Where Lazarus puts things on every host it runs software on. One home for these paths: components ship to them,
// command lines and compose files refer to them, and the platform modules read them from here.
export const HOST_LAYOUT = {
  /** The repository's scripts/ folder lands here (HostSoftware); command resources and backup containers run it. */
  scriptsRoot: "/opt/lazarus/scripts",
  /** Links nginx reads certificates through: a self-signed placeholder first, then certbot's live directory. */
  tlsDir: "/etc/ssl/lazarus",
  /** certbot's config directory (its default). */
  letsencryptDir: "/etc/letsencrypt",
  /** Where certbot's HTTP-01 challenge files are written; nginx serves them. */
  acmeWebroot: "/var/www/certbot",
} as const;

/** The certificate and key nginx serves for a certificate name, through the TLS link directory. */
export function tlsPaths(certName: string): { certPath: string; keyPath: string } {
  return { certPath: `${HOST_LAYOUT.tlsDir}/${certName}/fullchain.pem`, keyPath: `${HOST_LAYOUT.tlsDir}/${certName}/privkey.pem` };
}
