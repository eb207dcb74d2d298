/**
 * Acks in batches: while one ack request is in flight, the acks that come meanwhile wait and go
 * together in the next one. A lone ack goes out at once; a busy worker sends one request per round
 * trip rather than one per message.
 */
import { ReceiptError, ResponseError } from './errors.js';
import type { ReceiptOutcome } from './group-types.js';

/** Most receipts one request may carry. */
const MAX_BATCH = 1000;

interface Pending {
  readonly receipt: string;
  readonly resolve: (outcome: ReceiptOutcome) => void;
  readonly reject: (error: unknown) => void;
}

export class AckBatcher {
  private queue: Pending[] = [];
  private flushing = false;

  /** `send` acks a batch of receipts (one request) and answers each one's outcome. */
  constructor(private readonly send: (receipts: string[]) => Promise<ReceiptOutcome[]>) {}

  /**
   * Acks one receipt. Rejects with the batch's {@link ReceiptError} when this receipt was refused
   * (its `results` tell every receipt's outcome), or with the request's error when it failed.
   */
  ack(receipt: string): Promise<ReceiptOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ receipt, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        settle(batch, await this.send(batch.map((p) => p.receipt)), undefined);
      } catch (error) {
        if (error instanceof ReceiptError) settle(batch, error.results, error);
        else for (const pending of batch) pending.reject(error);
      }
    }
    this.flushing = false;
  }
}

/** Hands each receipt its outcome; a refused one (or one the answer left out) rejects with `refusal`. */
function settle(batch: readonly Pending[], results: readonly ReceiptOutcome[], refusal: ReceiptError | undefined): void {
  const byReceipt = new Map(results.map((r) => [r.receipt, r]));
  for (const pending of batch) {
    const outcome = byReceipt.get(pending.receipt);
    if (outcome && !outcome.refused) pending.resolve(outcome);
    else pending.reject(refusal ?? new ResponseError(`the answer to the ack has no result for receipt ${pending.receipt}`));
  }
}
