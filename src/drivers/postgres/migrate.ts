/**
 * Opening a PostgreSQL store: create or migrate its schema. Every process runs this on open, in
 * one transaction under an advisory lock keyed by the schema name, so processes starting together
 * migrate once (the others wait, then find the version current) and a failed migration leaves
 * nothing half-applied.
 */
import type { Sql } from "postgres";
import { PG_MIGRATIONS, pgVersionTable, quoteIdent } from "../sql/pg-schema.ts";

/** Applies the migrations newer than the schema's version; returns the version it ends at. */
export async function migrate(sql: Sql, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  return (await sql.begin(async (tx) => {
    await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`portico-jobs:${schema}`]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.unsafe(pgVersionTable(s));
    const [row] = await tx.unsafe(`SELECT COALESCE(max(version), 0)::int AS v FROM ${s}.schema_version`);
    let version = (row as unknown as { v: number }).v;
    for (const m of PG_MIGRATIONS) {
      if (m.version <= version) continue;
      await tx.unsafe(m.sql(s));
      await tx.unsafe(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [m.version]);
      version = m.version;
    }
    // A newer version (written by newer code) is kept: migrations only add, so this code still works on it.
    return version;
  })) as number;
}
