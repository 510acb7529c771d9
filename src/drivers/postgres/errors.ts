/** Failures of the `postgres` client as typed StorageErrors (typed SDK errors pass through unchanged). */
import { PorticoError, StorageError } from "../../core/index.ts";

/** Error codes of the client (and Node's sockets) that mean the connection, not the statement, failed. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT",
  "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN",
]);

/** True when `error` says the connection was lost or never made (the server may be restarting). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return false;
  // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
  return CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03";
}

/** Codes that mean the server could not be reached at all: no connection was in use, so none can be left broken. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "57P03"]);

/** True when `error` says a connection that had been made was lost (the server restarted, the backend was terminated). */
export function isConnectionLost(error: unknown): boolean {
  return isConnectionError(error) && !UNREACHABLE_CODES.has((error as { code: string }).code);
}

/** `error` as a StorageError naming the operation; a lost connection says the statement applied fully or not at all. */
export function storageError(op: string, error: unknown): PorticoError {
  if (error instanceof PorticoError) return error;
  const message = (error as Error)?.message ?? String(error);
  const code = (error as { code?: unknown })?.code;
  const detail = typeof code === "string" ? ` [${code}]` : "";
  const outcome = isConnectionError(error)
    ? "the connection to PostgreSQL failed; each transition is one statement or one transaction, so it applied fully or not at all"
    : "nothing changed";
  return new StorageError(`PostgresJobQueue.${op} failed (${outcome}): ${message}${detail}`, { cause: error });
}
