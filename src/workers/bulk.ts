/**
 * The engine's helper for bulk steps (expire members, bulk renew): runs the
 * step's work over many items, a few at a time, with one error policy for
 * every such step:
 *
 * - a permanent error (this member's entry is refused) is that item's outcome,
 *   and the others go on;
 * - a transient error (the server is down) fails the whole step, which the
 *   engine retries with backoff: every item's work must therefore be an ensure,
 *   so redoing the items that had succeeded is harmless.
 */
import { classify, isCeoError, TransientError } from '../core/errors';
import type { ItemOutcome } from '../jobs/step';

export async function forEachItem<T, O>(
  items: readonly T[],
  work: (item: T) => Promise<O>,
  opts: { concurrency: number; signal?: AbortSignal },
): Promise<ItemOutcome<O>[]> {
  const out: ItemOutcome<O>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      if (opts.signal?.aborted) throw new TransientError('TIMEOUT', 'bulk step aborted');
      const i = next++;
      try {
        out[i] = { ok: true, value: await work(items[i]!) };
      } catch (err) {
        const info = classify(err);
        // Unknown errors are transient (core/errors.ts): the step is retried.
        if (!info.permanent || !isCeoError(err)) throw err;
        out[i] = { ok: false, error: info };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.concurrency), items.length) }, lane));
  return out;
}
