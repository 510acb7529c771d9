/** Typed errors of the SDK. Each carries a stable `code` that HTTP layers map to responses. */

/** One problem found in an input, with the path of the field it concerns. */
export interface ValidationIssue {
  /** Dotted path such as `payload.items[2].when`. */
  path: string;
  message: string;
}

/** Base class: every error thrown by portico-jobs has a stable machine-readable code. */
export class PorticoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** createJob was given a job type no handler is registered for (the seed's ValueError). */
export class UnknownJobTypeError extends PorticoError {
  readonly jobType: string;
  constructor(jobType: string, known: readonly string[]) {
    super(
      "unknown_job_type",
      `Unknown job type "${jobType}": no handler is registered for it (known: ${known.length ? known.join(", ") : "none"})`,
    );
    this.jobType = jobType;
  }
}

/** Which input limit a {@link JobValidationError} reports: JSON size or nesting depth. */
export type InputLimit = "size" | "depth";

/**
 * A payload or option is not acceptable: not JSON-serializable, out of range, failing its
 * schema, or over an input limit of JobService (`maxPayloadBytes`, `maxDepth`).
 *
 * `limit` tells an HTTP layer which status fits: `"size"` (payload or metadata too many bytes)
 * maps to 413, `"depth"` (nested too deep) and `null` (any other invalid input) to 400. Either
 * way the input can never be stored, so it is never a 5xx.
 */
export class JobValidationError extends PorticoError {
  readonly jobType: string;
  readonly issues: ValidationIssue[];
  /** The input limit that was exceeded, or null when the input is invalid otherwise. */
  readonly limit: InputLimit | null;
  constructor(jobType: string, issues: ValidationIssue[], limit: InputLimit | null = null) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super("validation_failed", `Invalid job "${jobType}": ${first ? `${first.path}: ${first.message}` : "invalid"}${more}`);
    this.jobType = jobType;
    this.issues = issues;
    this.limit = limit;
  }
}

/** An operation asked for a job that does not exist. */
export class JobNotFoundError extends PorticoError {
  constructor(id: string) {
    super("job_not_found", `Job ${id} does not exist`);
  }
}

/** An operation is not allowed in the job's current state (e.g. retrying a completed job). */
export class JobStateError extends PorticoError {
  constructor(message: string) {
    super("invalid_job_state", message);
  }
}

/** The underlying store failed (quota, blocked upgrade, unavailable); nothing was half-written. */
export class StorageError extends PorticoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("storage_error", message, options);
  }
}

/**
 * The store holds as many waiting jobs as JobService's `maxWaitingJobs` allows; nothing was
 * written. The webhook answers 507 `storage_full`.
 */
export class StorageFullError extends PorticoError {
  /** The configured `maxWaitingJobs`. */
  readonly limit: number;
  /** Waiting jobs in the store when the creation was refused. */
  readonly waiting: number;
  /** Jobs the refused creation would have added. */
  readonly adding: number;
  constructor(limit: number, waiting: number, adding: number) {
    super("storage_full", `the store holds ${waiting} waiting jobs; adding ${adding} would exceed maxWaitingJobs (${limit})`);
    this.limit = limit;
    this.waiting = waiting;
    this.adding = adding;
  }
}

/** The store is already held by another process and cannot be shared safely. */
export class StoreLockedError extends PorticoError {
  constructor(message: string) {
    super("store_locked", message);
  }
}

/** waitForJob gave up: the job had not finished within `timeoutMs`. */
export class JobWaitTimeoutError extends PorticoError {
  readonly jobId: string;
  constructor(jobId: string, timeoutMs: number) {
    super("wait_timeout", `Job ${jobId} did not finish within ${timeoutMs} ms`);
    this.jobId = jobId;
  }
}

/** Abort reason of a running handler whose job was cancelled (JobService.cancelJob). */
export class JobCancelledError extends PorticoError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("job_cancelled", `Job ${jobId} was cancelled`);
    this.jobId = jobId;
  }
}

/** A filter or argument of an operation is not acceptable (e.g. an empty bulk filter). */
export class InvalidFilterError extends PorticoError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("invalid_filter", `${field}: ${message}`);
    this.field = field;
  }
}

/** The queue's store does not implement this operation. */
export class UnsupportedOperationError extends PorticoError {
  constructor(operation: string) {
    super("unsupported_operation", `This job store does not support ${operation}`);
  }
}
