/**
 * A caller's value as a problem detail shows it: strings quoted and cut short, since they come from
 * clients and may be long; anything else as it prints.
 */
export function quoted(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
