/**
 * Keeping one message's lease while its handler runs: extend it when half of what is left has
 * passed, so a slow handler never lets its message go to another consumer.
 */
import { LeaseLostError } from './errors.js';

/** Never retry a failed extension sooner than this. */
const MIN_DELAY_MS = 250;

/** Extends the lease; resolves with its new end by the server's clock. */
export type Extend = () => Promise<Date>;

export interface LeaseKeeperOptions {
  readonly extend: Extend;
  /** When the lease ends, epoch ms. */
  readonly expiresAt: number;
  /** The lease each extension asks for, in seconds, when the caller chose it. */
  readonly leaseS: number | undefined;
  /** The lease is lost for good: the message was claimed again. */
  readonly onLost: (error: LeaseLostError) => void;
  /** An extension failed otherwise (the network, the server); it is tried again sooner. */
  readonly onFailure: (error: unknown, delayMs: number) => void;
  /** An extension succeeded. */
  readonly onExtended: () => void;
}

/**
 * When a lease granted at `sentAt` ends, as this process's clock sees it: the server's word, unless
 * the lease asked for ends sooner counted from when the request left (a server clock ahead of ours
 * must not make us extend too late).
 */
export function leaseEnd(sentAt: number, serverEnd: Date, leaseS: number | undefined): number {
  return Math.min(serverEnd.getTime(), leaseS !== undefined ? sentAt + leaseS * 1000 : Infinity);
}

/**
 * Extends one lease at half of what is left, until stopped. A refused extension (`LEASE_LOST`)
 * ends it; any other failure is retried at half of what is left then, and even past the lease's
 * end, because a lease that ran out still holds its message until someone else claims it.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private extending: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.schedule(options.expiresAt, false);
  }

  /** Stops extending; resolves once an extension in flight has ended, so an ack cannot overtake it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.extending;
  }

  /** Extends at half of what is left of the lease ending at `expiresAt`; answers the wait. */
  private schedule(expiresAt: number, retrying: boolean): number {
    const delayMs = Math.max((expiresAt - Date.now()) / 2, retrying ? MIN_DELAY_MS : 0);
    if (this.stopped) return delayMs;
    this.timer = setTimeout(() => {
      this.extending = this.renew(expiresAt).finally(() => { this.extending = undefined; });
    }, delayMs);
    // A lease alone must not keep a process alive; the handler it guards does.
    this.timer.unref();
    return delayMs;
  }

  private async renew(expiresAt: number): Promise<void> {
    const sentAt = Date.now();
    try {
      const serverEnd = await this.options.extend();
      this.options.onExtended();
      this.schedule(leaseEnd(sentAt, serverEnd, this.options.leaseS), false);
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.stopped = true;
        this.options.onLost(error);
        return;
      }
      this.options.onFailure(error, this.schedule(expiresAt, true));
    }
  }
}
