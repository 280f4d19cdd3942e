// What the offline runtime answers in place of the cloud: ids and computed outputs are readable placeholders naming
// where the real value comes from ("<kro-prod-db.privateHost>"), so a plan reader sees the wiring, not fake data.
import type * as pulumi from "@pulumi/pulumi";

const ref = (name: string, attr: string) => `<${name}.${attr}>`;

/** Computed outputs per resource type, on top of the inputs echoed back. */
const COMPUTED: Record<string, (name: string, inputs: Record<string, unknown>) => Record<string, unknown>> = {
  "digitalocean:index/droplet:Droplet": (n) => ({
    ipv4Address: ref(n, "ipv4Address"),
    ipv4AddressPrivate: ref(n, "ipv4AddressPrivate"),
    dropletUrn: `do:droplet:${n}`,
    status: "active",
  }),
  "digitalocean:index/reservedIp:ReservedIp": (n) => ({ ipAddress: ref(n, "ipAddress"), reservedIpUrn: `do:reservedip:${n}` }),
  "digitalocean:index/vpc:Vpc": (n) => ({ urn: `do:vpc:${n}` }),
  "digitalocean:index/databaseCluster:DatabaseCluster": (n, i) => ({
    host: ref(n, "host"),
    privateHost: ref(n, "privateHost"),
    port: 25060,
    user: "doadmin",
    password: ref(n, "password"),
    database: "defaultdb",
    uri: ref(n, "uri"),
    privateUri: ref(n, "privateUri"),
    clusterUrn: `do:dbaas:${n}`,
    name: i.name ?? n,
  }),
  // The replica's own id: after a promotion, the id of the cluster it became.
  "digitalocean:index/databaseReplica:DatabaseReplica": (n) => ({ uuid: ref(n, "uuid") }),
  "digitalocean:index/databaseUser:DatabaseUser": (n) => ({ password: ref(n, "password"), role: "normal" }),
  "digitalocean:index/uptimeCheck:UptimeCheck": () => ({}),
  "digitalocean:index/spacesBucket:SpacesBucket": (n, i) => ({
    bucketDomainName: `${String(i.name ?? n)}.${String(i.region ?? "region")}.digitaloceanspaces.com`,
    bucketUrn: `do:space:${n}`,
  }),
  "command:remote:Command": (n) => ({ stdout: ref(n, "stdout"), stderr: "" }),
};

/** DigitalOcean droplet ids are numbers (firewalls and database firewalls take them as such): a stable one per name. */
function numericId(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return String(100_000_000 + (h % 900_000_000));
}

/** The id the offline runtime gives a resource (cli/planDiff.ts finds inputs taken from a replaced resource by it). */
export function mockId(type: string, name: string): string {
  return type === "digitalocean:index/droplet:Droplet" ? numericId(name) : `${name}-id`;
}

/** Whether an offline input value was taken from resource (type, name): its id, or one of its placeholder outputs. */
export function mockRefersTo(value: unknown, type: string, name: string): boolean {
  const text = JSON.stringify(value ?? null);
  return text.includes(mockId(type, name)) || text.includes(`<${name}.`);
}

export function mockResourceState(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
  const computed = COMPUTED[args.type]?.(args.name, args.inputs) ?? {};
  const id = mockId(args.type, args.name);
  return { id, state: { ...args.inputs, ...computed } };
}

/** Data-source lookups (invokes) answer with placeholders that say what the real lookup returns at deploy time. */
export function mockInvoke(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  switch (args.token) {
    case "digitalocean:index/getDropletSnapshot:getDropletSnapshot":
      return {
        id: `<most recent snapshot matching ${String(args.inputs.nameRegex ?? args.inputs.name)}>`,
        name: String(args.inputs.nameRegex ?? args.inputs.name),
        minDiskSize: 0,
        regions: [args.inputs.region],
        size: 0,
        createdAt: "<snapshot time>",
        dropletId: "<source droplet>",
      };
    case "digitalocean:index/getDatabaseCa:getDatabaseCa":
      return { clusterId: args.inputs.clusterId, certificate: `<CA certificate of cluster ${String(args.inputs.clusterId)}>` };
    default:
      return { ...args.inputs };
  }
}
