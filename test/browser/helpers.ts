/** Small helpers for the browser tests. */

/** Deletes a database, waiting until it is gone (a second handle may still be closing). */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Blocked only while another connection closes; success follows once it has.
    request.onblocked = () => undefined;
  });
}
