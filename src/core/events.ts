/** Events a WorkerManager and a JobService dispatch on themselves (each is an EventTarget). */
import type { Job } from "./job.ts";

/** Names of the job lifecycle events. */
export const JobEventType = {
  STARTED: "job:started",
  COMPLETED: "job:completed",
  RETRYING: "job:retrying",
  FAILED: "job:failed",
  DEAD_LETTER: "job:dead_letter",
  /** The worker lost the job's lease; another worker may run it again. */
  LEASE_LOST: "job:lease_lost",
  /** The handler reported progress (`context.progress`); `result` holds the value. */
  PROGRESS: "job:progress",
  /** The job was cancelled: by JobService.cancelJob, or seen by the worker that was running it. */
  CANCELLED: "job:cancelled",
} as const;

export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** A job lifecycle event; `job` is the job as the worker saw it when the event happened. */
export class JobEvent extends Event {
  readonly job: Job;
  readonly error: Error | null;
  readonly result: unknown;
  constructor(type: JobEventType, init: { job: Job; error?: Error | null; result?: unknown }) {
    super(type);
    this.job = init.job;
    this.error = init.error ?? null;
    this.result = init.result;
  }
}

/** Event name -> event class, for typed listeners on a WorkerManager. */
export type JobEventMap = { [K in JobEventType]: JobEvent };

/** A listener for an event of class `E`: a function or an object with handleEvent. */
export type TypedEventListener<E extends Event> = ((event: E) => void) | { handleEvent(event: E): void };

/** A listener for WorkerManager event `K`, given the typed event. */
export type JobEventListener<K extends keyof JobEventMap> = TypedEventListener<JobEventMap[K]>;

/** Options of {@link TypedEventTarget.addEventListener} (the DOM's AddEventListenerOptions). */
export interface JobEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/**
 * An EventTarget whose listeners are typed by an event map `M` (name -> event class): a listener
 * gets the event's own class, and a misspelt event name does not compile.
 */
export interface TypedEventTarget<M extends { [K in keyof M]: Event }> {
  addEventListener<K extends keyof M & string>(type: K, listener: TypedEventListener<M[K]> | null, options?: boolean | JobEventListenerOptions): void;
  removeEventListener<K extends keyof M & string>(type: K, listener: TypedEventListener<M[K]> | null, options?: boolean | { capture?: boolean }): void;
  dispatchEvent(event: Event): boolean;
}

/** The WorkerManager's typed EventTarget: `job:completed` gives a JobEvent. */
export type JobEventTarget = TypedEventTarget<JobEventMap>;

/**
 * The runtime's own EventTarget under a typed interface. A cast, because each runtime's
 * EventTarget typing takes any string, and a subclass may only narrow what its base declares.
 */
export const JobEventTarget: new () => JobEventTarget = EventTarget as unknown as new () => JobEventTarget;

/** Names of the queue events JobService dispatches. */
export const QueueEventType = {
  PAUSED: "queue:paused",
  RESUMED: "queue:resumed",
} as const;

export type QueueEventType = (typeof QueueEventType)[keyof typeof QueueEventType];

/** A queue was paused or resumed. */
export class QueueEvent extends Event {
  readonly queueName: string;
  constructor(type: QueueEventType, queueName: string) {
    super(type);
    this.queueName = queueName;
  }
}

/** Event name -> event class of the events JobService dispatches. */
export type JobServiceEventMap = {
  [JobEventType.CANCELLED]: JobEvent;
  [QueueEventType.PAUSED]: QueueEvent;
  [QueueEventType.RESUMED]: QueueEvent;
};

/** JobService's typed EventTarget: `queue:paused` gives a QueueEvent, `job:cancelled` a JobEvent. */
export type JobServiceEventTarget = TypedEventTarget<JobServiceEventMap>;

/** The runtime's EventTarget typed by {@link JobServiceEventMap} (a cast, as {@link JobEventTarget}). */
export const JobServiceEventTarget: new () => JobServiceEventTarget = EventTarget as unknown as new () => JobServiceEventTarget;
