import { z } from 'zod';

/** An Atom person construct (RFC 4287 3.2). */
export interface Person {
  readonly name: string;
  readonly email?: string | undefined;
  readonly uri?: string | undefined;
}

/** A person as JSON and feed files write it: a bare name, or `{ name, email, uri }`. */
export const personSchema = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), email: z.string().optional(), uri: z.string().optional() }),
]);

export function toPerson(value: z.infer<typeof personSchema>): Person {
  return typeof value === 'string' ? { name: value } : value;
}
