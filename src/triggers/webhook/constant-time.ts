/** Comparisons whose running time does not depend on where two secrets differ. */

/**
 * True when `a` and `b` are the same string. The loop runs over the longer string whatever the
 * content, so only the length shows in the timing (every compared value here has a public length).
 */
export function constantTimeEqualStrings(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  // charCodeAt past the end is NaN, and NaN | 0 is 0: no branch on the content.
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
