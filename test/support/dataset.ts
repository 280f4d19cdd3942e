// A generated application database for backup/restore tests and benchmarks: PostGIS geometries (points and
// polygons with GiST indexes), three enum types, B-tree indexes, numerics, timestamps, jsonb, a mixed-case table
// name ("User", as Prisma creates), foreign keys, sequences and text with realistic entropy (random spans of a
// random-word corpus, not pgbench filler). Generated in SQL with generate_series, so 100k rows take seconds.
import { spawnSync } from "node:child_process";
import type { PostgresServer } from "./postgres";

export interface DatasetOptions {
  /** Rows in the largest table ("payment"). Totals: payment N, property N/2, "User" N/4, audit_logs N/4 (2N in all). */
  scale: number;
  /** Seed for random(), so two runs with the same scale produce the same data. */
  seed?: number;
}

/** SQL for a random span of the corpus: substring of a bytea is O(1) in its offset, unlike substr of UTF-8 text. */
function span(pos: string, len: string): string {
  return `encode(substring(decode(:'corpus_hex', 'hex') from ${pos} for ${len}), 'escape')`;
}

/** The SQL that creates the schema and fills it; run in one psql session (it keeps the corpus in a psql variable). */
export function datasetSql({ scale, seed = 0.42 }: DatasetOptions): string {
  const n = Math.max(4, Math.floor(scale));
  const users = Math.max(1, Math.floor(n / 4));
  const properties = Math.max(1, Math.floor(n / 2));
  const audits = Math.max(1, Math.floor(n / 4));
  // A random-word corpus (about 1 MB); rows take random spans of it, which compresses like real prose (~3x),
  // not like repeated filler.
  return `
\\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(${seed});
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TYPE user_role AS ENUM ('tenant', 'owner', 'agent', 'admin');
CREATE TYPE listing_status AS ENUM ('draft', 'active', 'reserved', 'sold', 'archived');
CREATE TYPE payment_status AS ENUM ('pending', 'paid', 'failed', 'refunded');

SELECT encode(convert_to(string_agg(w, ' '), 'UTF8'), 'hex') AS corpus_hex, length(string_agg(w, ' ')) AS corpus_len FROM (
    SELECT substr('abcdefghijklmnopqrstuvwxyzaeiouaeiou', 1 + floor(random() * 36)::int, 1 + floor(random() * 3)::int)
        || substr('bcdfghjklmnpqrstvwxyz', 1 + floor(random() * 21)::int, 1 + floor(random() * 2)::int)
        || substr('aeiouyaeiou', 1 + floor(random() * 11)::int, 1 + floor(random() * 2)::int)
        || CASE WHEN random() < 0.1 THEN (floor(random() * 1000))::text ELSE '' END
        || CASE WHEN random() < 0.08 THEN '.' WHEN random() < 0.1 THEN ',' ELSE '' END AS w
    FROM generate_series(1, 160000)) words \\gset

CREATE TABLE "User" (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  role user_role NOT NULL,
  balance numeric(14, 2) NOT NULL,
  created_at timestamptz NOT NULL,
  bio text
);
INSERT INTO "User" (email, name, role, balance, created_at, bio)
SELECT 'u' || g || '.' || substr(md5(random()::text), 1, 8) || '@example.vn',
       initcap(${span("1 + floor(random() * (:corpus_len - 40))::int", "8 + floor(random() * 16)::int")}),
       (enum_range(NULL::user_role))[1 + floor(random() * 4)::int],
       round((random() * 1e7)::numeric, 2),
       timestamptz '2019-01-01 00:00:00+00' + random() * interval '2000 days',
       CASE WHEN random() < 0.8 THEN ${span("1 + floor(random() * (:corpus_len - 400))::int", "40 + floor(random() * 300)::int")} END
FROM generate_series(1, ${users}) g;

CREATE TABLE property (
  id bigserial PRIMARY KEY,
  owner_id bigint NOT NULL REFERENCES "User"(id),
  title text NOT NULL,
  price numeric(16, 2) NOT NULL,
  status listing_status NOT NULL,
  location geometry(Point, 4326) NOT NULL,
  area geometry(Polygon, 4326) NOT NULL,
  listed_at timestamptz NOT NULL,
  description text NOT NULL,
  attributes jsonb NOT NULL
);
INSERT INTO property (owner_id, title, price, status, location, area, listed_at, description, attributes)
SELECT 1 + floor(random() * ${users})::bigint,
       ${span("1 + floor(random() * (:corpus_len - 80))::int", "20 + floor(random() * 50)::int")},
       round((random() * random() * 5e10)::numeric, 2),
       (enum_range(NULL::listing_status))[1 + floor(random() * 5)::int],
       ST_SetSRID(ST_MakePoint(x, y), 4326),
       ST_MakeEnvelope(x, y, x + 0.0005 + random() * 0.002, y + 0.0005 + random() * 0.002, 4326),
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '1500 days',
       ${span("1 + floor(random() * (:corpus_len - 1300))::int", "100 + floor(random() * 1100)::int")},
       jsonb_build_object('bedrooms', floor(random() * 6)::int, 'floor_m2', round((20 + random() * 400)::numeric, 1),
                          'furnished', random() < 0.5, 'tags', jsonb_build_array(substr(md5(random()::text), 1, 6)))
FROM (SELECT g, 102.1 + random() * 7.3 AS x, 8.6 + random() * 14.8 AS y FROM generate_series(1, ${properties}) g) s;

CREATE TABLE payment (
  id bigserial PRIMARY KEY,
  property_id bigint NOT NULL REFERENCES property(id),
  amount numeric(14, 2) NOT NULL,
  fee numeric(10, 4) NOT NULL,
  currency char(3) NOT NULL,
  status payment_status NOT NULL,
  paid_at timestamptz,
  reference uuid NOT NULL,
  memo text
);
INSERT INTO payment (property_id, amount, fee, currency, status, paid_at, reference, memo)
SELECT 1 + floor(random() * ${properties})::bigint,
       round((random() * 1e8)::numeric, 2),
       round((random() * 1000)::numeric, 4),
       CASE WHEN random() < 0.9 THEN 'VND' ELSE 'USD' END,
       (enum_range(NULL::payment_status))[1 + floor(random() * 4)::int],
       CASE WHEN random() < 0.85 THEN timestamptz '2021-01-01 00:00:00+00' + random() * interval '1200 days' END,
       md5(random()::text || g)::uuid,
       CASE WHEN random() < 0.6 THEN ${span("1 + floor(random() * (:corpus_len - 200))::int", "10 + floor(random() * 150)::int")} END
FROM generate_series(1, ${n}) g;

CREATE TABLE audit_logs (
  id bigserial PRIMARY KEY,
  "timestamp" timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  entity text NOT NULL,
  details jsonb NOT NULL
);
INSERT INTO audit_logs ("timestamp", actor, action, entity, details)
SELECT timestamptz '2024-01-01 00:00:00+00' + (g::double precision / ${audits}) * interval '366 days',
       'user:' || (1 + floor(random() * ${users})::int),
       (ARRAY['login', 'payment.create', 'payment.approve', 'listing.update', 'listing.delete'])[1 + floor(random() * 5)::int],
       'property:' || (1 + floor(random() * ${properties})::int),
       jsonb_build_object('ip', '10.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int,
                          'note', ${span("1 + floor(random() * (:corpus_len - 100))::int", "10 + floor(random() * 80)::int")})
FROM generate_series(1, ${audits}) g;

CREATE UNIQUE INDEX user_email_key ON "User" (email);
CREATE INDEX user_created_at_idx ON "User" (created_at);
CREATE INDEX property_owner_idx ON property (owner_id);
CREATE INDEX property_listed_at_idx ON property (listed_at);
CREATE INDEX property_location_gist ON property USING gist (location);
CREATE INDEX property_area_gist ON property USING gist (area);
CREATE INDEX payment_property_idx ON payment (property_id);
CREATE INDEX payment_paid_at_idx ON payment (paid_at);
CREATE INDEX audit_logs_timestamp_idx ON audit_logs ("timestamp");
CREATE VIEW active_listing AS SELECT id, title, price, location FROM property WHERE status = 'active';
ANALYZE;
`;
}

function psqlScript(server: PostgresServer, db: string, script: string): void {
  const r = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], {
    env: { ...process.env, ...server.env },
    input: script,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`psql script failed on ${db} (${r.status}): ${r.stderr}`);
}

/** Creates database `db` (it must not exist) and fills it with the generated dataset. */
export function createDataset(server: PostgresServer, db: string, options: DatasetOptions): void {
  server.sql(`CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0`);
  psqlScript(server, db, datasetSql(options));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableChecksum {
  rows: number;
  md5: string;
}

/**
 * For every ordinary table outside the system schemas: its row count and the md5 of the sorted md5s of its rows'
 * text (order-independent, so a restore that loads rows in another physical order still matches).
 * PostGIS's own spatial_ref_sys is included: it is part of what a restore must bring back.
 */
export function tableChecksums(server: PostgresServer, db: string): Record<string, TableChecksum> {
  const tables = server
    .sql(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 1`,
      db,
    )
    .split("\n")
    .filter((t) => t.length > 0);
  if (tables.length === 0) return {};
  const query = tables
    .map(
      (t) =>
        `SELECT ${quoteLiteral(t)}, count(*), coalesce(md5(string_agg(h, '' ORDER BY h COLLATE "C")), md5('')) ` +
        `FROM (SELECT md5(x::text) AS h FROM ${t} x) s`,
    )
    .join("\nUNION ALL\n");
  const out: Record<string, TableChecksum> = {};
  for (const line of server.sql(query, db).split("\n")) {
    const [name, rows, md5] = line.split("|");
    out[name] = { rows: Number(rows), md5 };
  }
  return out;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
