/**
 * Every section of the conformance suite, run in this order. A new section lives in its own
 * file next to this one (operations.ts, flow-control.ts, ...) and is added to this list.
 * @module
 */
import type { ConformanceSection } from "./options.ts";
import { operationsSection } from "./operations.ts";
import { flowControlSection } from "./flow-control.ts";
import { queuePortSection } from "./queue-port.ts";
import { quotaSection } from "./quota.ts";

/** The sections {@link runQueueConformance} registers. */
export const conformanceSections: readonly ConformanceSection[] = [
  queuePortSection,
  operationsSection,
  flowControlSection,
  quotaSection,
];
