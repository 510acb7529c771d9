/** The structured logger port: an event name plus fields. */

/** A structured logger. Any object with these four methods fits (pino, console wrappers...). */
export interface Logger {
  debug(event: string, fields?: object): void;
  info(event: string, fields?: object): void;
  warn(event: string, fields?: object): void;
  error(event: string, fields?: object): void;
}

type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger that writes one JSON line per event at or above `level` (default "info"). */
export function createJsonLogger(options: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const write = options.write ?? ((line: string) => console.log(line));
  const emit = (level: Level) => (event: string, fields?: object) => {
    if (LEVELS[level] < min) return;
    const time = new Date().toISOString();
    let line: string;
    try {
      line = JSON.stringify({ time, level, event, ...fields }, errorReplacer);
    } catch (error) {
      // A cyclic field must not turn a log call into a crash; keep the event, say what was lost.
      line = JSON.stringify({ time, level, event, logError: `fields not serializable: ${(error as Error).message}` });
    }
    write(line);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

// Errors stringify to {} by default; keep what a reader needs.
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** The default logger: JSON lines at info level. */
export const jsonLogger: Logger = createJsonLogger();

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Wraps a logger so that its own failures never interrupt running or recording a job. */
export function guardedLogger(logger: Logger): Logger {
  const safe =
    (log: (event: string, fields?: object) => void) =>
    (event: string, fields?: object): void => {
      try {
        log.call(logger, event, fields);
      } catch {
        // Nowhere left to report it; the job's outcome matters more than its log line.
      }
    };
  return { debug: safe(logger.debug), info: safe(logger.info), warn: safe(logger.warn), error: safe(logger.error) };
}
