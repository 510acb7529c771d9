/**
 * Turns what IndexedDB throws (DOMExceptions, aborted transactions) into the SDK's typed
 * {@link StorageError}, with a message a person can act on.
 * @module
 */
import { PorticoError, StorageError } from "../../core/index.ts";

/** The DOMException name of an IndexedDB failure, if it is one. */
function domName(error: unknown): string | null {
  if (typeof error === "object" && error !== null && "name" in error && typeof (error as { name: unknown }).name === "string") {
    return (error as { name: string }).name;
  }
  return null;
}

/**
 * Wraps `error` (thrown while `action` ran on database `dbName`) in a StorageError. SDK errors
 * pass through unchanged. Every write runs in one transaction, so the message can promise that
 * nothing of the failed call was stored.
 */
export function toStorageError(error: unknown, dbName: string, action: string): PorticoError {
  if (error instanceof PorticoError) return error;
  const name = domName(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = `IndexedDB "${dbName}"`;
  switch (name) {
    case "QuotaExceededError":
      return new StorageError(
        `${where}: storage quota exceeded while trying to ${action}; nothing was written. Free space (remove finished jobs or other site data) and try again.`,
        { cause: error },
      );
    case "DataCloneError":
      return new StorageError(`${where}: cannot ${action}: a value cannot be stored by IndexedDB (${detail}); nothing was written.`, { cause: error });
    case "VersionError":
      return new StorageError(
        `${where} was upgraded to a newer schema by a newer version of this app (another tab?); reload the page to use it.`,
        { cause: error },
      );
    case "InvalidStateError":
    case "TransactionInactiveError":
      return new StorageError(`${where}: the connection was closed (the queue was closed, or another tab upgraded the database) while trying to ${action}.`, {
        cause: error,
      });
    case "UnknownError":
    case "AbortError":
    default:
      return new StorageError(`${where}: failed to ${action}; nothing was written (${name ?? "Error"}: ${detail}).`, { cause: error });
  }
}
