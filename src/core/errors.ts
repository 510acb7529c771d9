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

/** A payload or option is not acceptable: not JSON-serializable, out of range, or failing its schema. */
export class JobValidationError extends PorticoError {
  readonly jobType: string;
  readonly issues: ValidationIssue[];
  constructor(jobType: string, issues: ValidationIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super("validation_failed", `Invalid job "${jobType}": ${first ? `${first.path}: ${first.message}` : "invalid"}${more}`);
    this.jobType = jobType;
    this.issues = issues;
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

/** The store is already held by another process and cannot be shared safely. */
export class StoreLockedError extends PorticoError {
  constructor(message: string) {
    super("store_locked", message);
  }
}
