// A DigitalOcean managed PostgreSQL (or MongoDB) cluster reachable only from its application hosts or app, and the
// restore path the runbooks do by hand in the console: a backup (optionally at a point in time) restored into a NEW
// cluster beside the live one, proven, then the application cut over by a second switch. The live cluster is never
// replaced or deleted. MongoDB clusters take the same path (the provider's backupRestore, a database and a user); the
// component keeps its PostgreSQL type token for PostgreSQL so existing stacks' URNs do not change.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

/** Engines with databases, users and backups to restore: PostgreSQL (the default) and MongoDB. */
export type ManagedDocumentOrSqlEngine = "pg" | "mongodb";

/** Who a database firewall admits: droplets by id, servers by address, App Platform apps by app id. */
export interface DatabaseAccess {
  type: "droplet" | "ip_addr" | "app";
  value: pulumi.Input<string>;
}

export interface ManagedPostgresArgs {
  /** Cluster name, e.g. kro-prod-db. */
  name: string;
  /** "pg" unless given; "mongodb" for a MongoDB cluster (no read replica: MongoDB clusters replicate within their nodes). */
  engine?: ManagedDocumentOrSqlEngine;
  region: string;
  vpcUuid: pulumi.Input<string>;
  projectTags: string[];
  version: string;
  size: string;
  nodeCount: number;
  maintenanceWindow: { day: string; hour: string };
  databaseName: string;
  userName: string;
  /**
   * Who may connect: droplets by id, servers outside DigitalOcean by address, apps by id. The firewall admits nothing
   * else. Absent when the client is declared after the cluster (an app whose spec holds the cluster's connection): the
   * caller then calls `admit` once the client exists, which declares the same firewalls.
   */
  allow?: DatabaseAccess[];
  /**
   * Clients connect over the public endpoint (TLS, firewall by address) instead of the VPC's private one: for servers
   * outside the stack's VPC, such as an existing on-prem host.
   */
  publicEndpoint?: boolean;
  protect: boolean;
  /**
   * A read replica of the live cluster in the same region and VPC (digitalocean.DatabaseReplica): reads offloaded, and
   * the standby a database failover promotes. Protected like the cluster: after a promotion it is the primary.
   */
  replica?: {
    name: string;
    size: string;
    /** The replica was promoted to a standalone primary (a database failover): the application connects to it. */
    promoted?: boolean;
  };
  restore?: {
    label: string;
    /** Cluster whose backups to restore; the live cluster by default. */
    sourceCluster?: string;
    pointInTime?: string;
    /** Point the application at the restored cluster. */
    cutover: boolean;
    /** Let the restored cluster be deleted: the only way it loses its protection. */
    discard: boolean;
  };
}

/** What an application needs to connect. The password is a secret. */
export interface PostgresConnection {
  clusterName: pulumi.Output<string>;
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  database: string;
  user: string;
  password: pulumi.Output<string>;
  caCertificate: pulumi.Output<string>;
}

export class ManagedPostgres extends pulumi.ComponentResource {
  readonly cluster: digitalocean.DatabaseCluster;
  readonly restored?: digitalocean.DatabaseCluster;
  readonly replica?: digitalocean.DatabaseReplica;
  /** The connection the application uses: the live cluster, or the restored one after cutover. */
  readonly active: PostgresConnection;
  readonly live: PostgresConnection;
  private readonly clusterName: string;
  private readonly restoredName?: string;

  constructor(name: string, args: ManagedPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    const engine = args.engine ?? "pg";
    // Before anything is registered: a refused component must leave nothing half-declared.
    if (engine !== "pg" && args.replica) throw new Error(`${args.name}: a read replica is a PostgreSQL feature; a ${engine} cluster replicates within its nodes`);
    super(engine === "pg" ? "lazarus:database:ManagedPostgres" : "lazarus:database:ManagedMongodb", name, {}, opts);
    const child = { parent: this };
    this.clusterName = args.name;

    const clusterArgs = {
      engine,
      version: args.version,
      size: args.size,
      nodeCount: args.nodeCount,
      region: args.region,
      privateNetworkUuid: args.vpcUuid,
      maintenanceWindows: [args.maintenanceWindow],
      tags: args.projectTags,
    };
    this.cluster = new digitalocean.DatabaseCluster(args.name, { name: args.name, ...clusterArgs }, { ...child, protect: args.protect });
    if (args.allow) this.firewall(this.cluster, args.allow);
    new digitalocean.DatabaseDb(`${args.name}-db-${args.databaseName}`, { clusterId: this.cluster.id, name: args.databaseName }, { ...child, protect: args.protect });
    const user = new digitalocean.DatabaseUser(`${args.name}-user-${args.userName}`, { clusterId: this.cluster.id, name: args.userName }, { ...child, protect: args.protect });

    if (args.replica) {
      this.replica = new digitalocean.DatabaseReplica(
        args.replica.name,
        {
          clusterId: this.cluster.id,
          name: args.replica.name,
          size: args.replica.size,
          region: args.region,
          // The same VPC as the cluster and the hosts: replication and reads stay on the private network.
          privateNetworkUuid: args.vpcUuid,
          tags: args.projectTags,
        },
        { ...child, protect: args.protect },
      );
    }

    this.live = this.connection(this.cluster, args, user.password, child);
    this.active = this.live;
    if (this.replica && args.replica?.promoted) {
      // Users, passwords and databases are replicated; the CA is the project's, the same for every cluster.
      this.active = {
        ...this.live,
        clusterName: this.replica.name,
        host: args.publicEndpoint ? this.replica.host : this.replica.privateHost,
        port: this.replica.port,
      };
    }

    if (args.restore) {
      const restoredName = `${args.name}-restore-${args.restore.label}`;
      this.restoredName = restoredName;
      this.restored = new digitalocean.DatabaseCluster(
        restoredName,
        {
          name: restoredName,
          ...clusterArgs,
          backupRestore: {
            databaseName: args.restore.sourceCluster ?? args.name,
            ...(args.restore.pointInTime ? { backupCreatedAt: args.restore.pointInTime } : {}),
          },
        },
        // Protected from the start, whatever cutover says: once the application has written to it, it is as precious as
        // the live one, and a switch flipped back must not make it deletable. Only an explicit discard unprotects it.
        { ...child, protect: args.protect && !args.restore.discard, dependsOn: [this.cluster] },
      );
      if (args.allow) this.firewall(this.restored, args.allow);
      // The backup carries the database and its users (with their passwords at backup time): nothing to create.
      if (args.restore.cutover) this.active = this.connection(this.restored, args, user.password, child);
    }

    this.registerOutputs({ liveCluster: this.cluster.name, activeHost: this.active.host });
  }

  /**
   * The firewalls of the live cluster and of the restored one, for a cluster declared without `allow`: they admit
   * `allow` and nothing else.
   */
  admit(allow: DatabaseAccess[]): void {
    this.firewall(this.cluster, allow);
    if (this.restored) this.firewall(this.restored, allow);
  }

  private firewall(cluster: digitalocean.DatabaseCluster, allow: DatabaseAccess[]): void {
    const name = cluster === this.cluster ? this.clusterName : this.restoredName!;
    new digitalocean.DatabaseFirewall(
      `${name}-firewall`,
      {
        clusterId: cluster.id,
        rules: allow.map((a) => ({ type: a.type, value: a.value })),
      },
      { parent: this },
    );
  }

  private connection(
    cluster: digitalocean.DatabaseCluster,
    args: ManagedPostgresArgs,
    password: pulumi.Output<string>,
    opts: pulumi.InvokeOptions,
  ): PostgresConnection {
    return {
      clusterName: cluster.name,
      host: args.publicEndpoint ? cluster.host : cluster.privateHost,
      port: cluster.port,
      database: args.databaseName,
      user: args.userName,
      password: pulumi.secret(password),
      caCertificate: digitalocean.getDatabaseCaOutput({ clusterId: cluster.id }, opts).certificate,
    };
  }
}
