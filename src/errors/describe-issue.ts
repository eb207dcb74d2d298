import type { z } from 'zod';

/**
 * One validation problem in words that name the field: `field "retention.maxEntries": Too small…`,
 * or `unknown field "pagesize"` for a typo, which zod reports on the parent object.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${[...issue.path, k].join('.')}"`).join(', ')}`;
  }
  const field = issue.path.length ? `field "${issue.path.join('.')}"` : 'the value';
  return `${field}: ${issue.message}`;
}
