/** The Durable Object's SQLite schema is the SQL core's SQLite dialect (see src/drivers/sql/sqlite-schema.ts). */
export { DATA_MIGRATIONS, SCHEMA_SQL } from "../sql/sqlite-schema.ts";
