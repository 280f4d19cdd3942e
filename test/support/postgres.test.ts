import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "./postgres";

describe("the PostgreSQL test server", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.destroy());

  it("answers on loopback and has PostGIS available", () => {
    expect(pg.sql("select 1")).toBe("1");
    pg.sql("create extension postgis");
    expect(pg.sql("select postgis_lib_version()")).toMatch(/^3\./);
  });
});
