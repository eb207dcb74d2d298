/**
 * The names and bounds of the protocol (DESIGN.md section 2), in one module that imports nothing:
 * the server's configuration, the command line and the client library all check against it, and
 * the client must not pull zod or server code into what package users load.
 */

/** Feed names: lowercase letters, digits, `-` and `_`, 1 to 64 characters. */
const NAME = /^[a-z0-9_-]{1,64}$/;

/** How messages that refuse a name describe the rule. */
export const NAME_RULE = '1-64 lowercase letters, digits, "-" or "_"';

/** Most entries one page may hold: the bound of `?limit=` and of a feed's `pageSize`. */
export const MAX_LIMIT = 1000;

/**
 * Whether `value` is a valid feed name.
 *
 * @example isFeedName('orders-eu') // true
 * @example isFeedName('Orders') // false
 */
export function isFeedName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

/**
 * Whether `value` is a valid page size: an integer from 1 to {@link MAX_LIMIT}.
 *
 * @example isLimit(100) // true
 * @example isLimit(1001) // false
 */
export function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_LIMIT;
}
