// The Pulumi resource types the tests look plans up by. Apart from test/support/stacks.ts (which re-exports it) so that
// the exec stand-in (test/support/fake-docker-exec.ts), started once per `docker compose exec`, loads without the planner.
export const T = {
  droplet: "digitalocean:index/droplet:Droplet",
  reservedIp: "digitalocean:index/reservedIp:ReservedIp",
  reservedIpAssignment: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
  firewall: "digitalocean:index/firewall:Firewall",
  monitorAlert: "digitalocean:index/monitorAlert:MonitorAlert",
  uptimeCheck: "digitalocean:index/uptimeCheck:UptimeCheck",
  uptimeAlert: "digitalocean:index/uptimeAlert:UptimeAlert",
  cluster: "digitalocean:index/databaseCluster:DatabaseCluster",
  dbFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
  db: "digitalocean:index/databaseDb:DatabaseDb",
  dbUser: "digitalocean:index/databaseUser:DatabaseUser",
  vpc: "digitalocean:index/vpc:Vpc",
  project: "digitalocean:index/project:Project",
  command: "command:remote:Command",
  copy: "command:remote:CopyToRemote",
  spacesBucket: "digitalocean:index/spacesBucket:SpacesBucket",
  projectResources: "digitalocean:index/projectResources:ProjectResources",
} as const;
