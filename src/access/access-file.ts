import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeJsonError } from '../config/json-error.js';
import { describeIssue } from '../errors/describe-issue.js';
import { ConfigError } from '../errors/index.js';
import { parseHash, parseTokenHash, type SecretHash, type TokenHash } from './secrets.js';

/** What a principal may do with the feeds a grant names (DESIGN.md section 14; the README's table lists the routes). */
export const GRANTS = ['read', 'publish', 'consume', 'admin'] as const;
export type Grant = typeof GRANTS[number];

/** The principal whose grants apply to a request without credentials. */
export const ANONYMOUS = 'anonymous';

/** A string that `parse` takes, or refused with the reason it gives. */
const checkedBy = (parse: (text: string) => unknown) => z.string().superRefine((text, issue) => {
  const parsed = parse(text);
  if (typeof parsed === 'string') issue.addIssue({ code: 'custom', message: parsed });
});

/** A feed name, or a pattern where `*` stands for any run of characters: `orders`, `orders-*`, `*`. */
const pattern = z.string().regex(/^[A-Za-z0-9._*-]+$/, 'a feed name or pattern is letters, digits, ".", "_", "-" and "*"');

const principal = z.strictObject({
  tokenHashes: z.array(checkedBy(parseTokenHash)).default([]),
  user: z.string().min(1).regex(/^[^:]+$/, 'a user name has no ":"').optional(),
  passwordHash: checkedBy(parseHash).optional(),
  grants: z.record(pattern, z.array(z.enum(GRANTS))).default({}),
}).refine((p) => (p.user === undefined) === (p.passwordHash === undefined), {
  path: ['passwordHash'], message: '"user" and "passwordHash" go together',
});

const accessFile = z.strictObject({ principals: z.record(z.string().min(1), principal) }).superRefine((file, issue) => {
  const users = new Map<string, string>();
  const tokens = new Map<string, string>();
  for (const [name, p] of Object.entries(file.principals)) {
    if (name === ANONYMOUS && (p.user !== undefined || p.tokenHashes.length > 0)) {
      issue.addIssue({ code: 'custom', path: ['principals', name], message: 'the anonymous principal has no credentials, only grants' });
    }
    p.tokenHashes.forEach((hash, i) => {
      const other = tokens.get(hash);
      if (other !== undefined) issue.addIssue({ code: 'custom', path: ['principals', name, 'tokenHashes', i], message: `the same token is also principal "${other}"'s` });
      tokens.set(hash, name);
    });
    if (p.user === undefined) continue;
    const other = users.get(p.user);
    if (other !== undefined) issue.addIssue({ code: 'custom', path: ['principals', name, 'user'], message: `user "${p.user}" is also principal "${other}"'s` });
    users.set(p.user, name);
  }
});

/** One principal of the access file, its hashes parsed and its grants compiled. */
export interface Principal {
  readonly name: string;
  /** Its tokens' `sha256$` digests. */
  readonly tokenDigests: readonly string[];
  /** Its tokens hashed with scrypt, as access files made before digests have them. */
  readonly tokenHashes: readonly SecretHash[];
  readonly user?: string | undefined;
  readonly passwordHash?: SecretHash | undefined;
  /** Whether the principal holds `grant` on the feed named `feed`. */
  may(feed: string, grant: Grant): boolean;
}

export interface AccessRules {
  readonly principals: readonly Principal[];
  /** Whose each token digest is. */
  readonly byTokenDigest: ReadonlyMap<string, Principal>;
  /** What needs no credentials: the `anonymous` principal, or one that may do nothing. */
  readonly anonymous: Principal;
}

function compileGrants(grants: Record<string, Grant[]>): Principal['may'] {
  const rules = Object.entries(grants).map(([feeds, allowed]) => ({
    matches: new RegExp(`^${feeds.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`),
    allowed: new Set(allowed),
  }));
  return (feed, grant) => rules.some((rule) => rule.allowed.has(grant) && rule.matches.test(feed));
}

function toPrincipal(name: string, p: z.infer<typeof principal>): Principal {
  // The schema has checked every hash.
  const tokens = p.tokenHashes.map((text) => parseTokenHash(text) as TokenHash);
  return Object.freeze({
    name,
    tokenDigests: tokens.flatMap((hash) => ('digest' in hash ? [hash.digest] : [])),
    tokenHashes: tokens.flatMap((hash) => ('digest' in hash ? [] : [hash])),
    user: p.user,
    passwordHash: p.passwordHash === undefined ? undefined : parseHash(p.passwordHash) as SecretHash,
    may: compileGrants(p.grants),
  });
}

/** Access files hold a few principals; a larger file is not one. */
const MAX_ACCESS_FILE = 1024 * 1024;

/**
 * Reads and validates the access file. Throws a ConfigError naming the file and the field, and
 * never quoting the file's text (it holds hashes).
 *
 * @example loadAccessFile('access.json').principals.length
 */
export function loadAccessFile(path: string): AccessRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--access ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  if (text.length > MAX_ACCESS_FILE) throw new ConfigError(`--access ${path}: is larger than ${MAX_ACCESS_FILE} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`--access ${path}: ${describeJsonError(text)}`);
  }
  const parsed = accessFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`--access ${path}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  const principals = Object.entries(parsed.data.principals).map(([name, p]) => toPrincipal(name, p));
  const anonymous = principals.find((p) => p.name === ANONYMOUS) ?? toPrincipal(ANONYMOUS, { tokenHashes: [], grants: {} });
  const byTokenDigest = new Map(principals.flatMap((p) => p.tokenDigests.map((digest) => [digest, p] as const)));
  return Object.freeze({ principals: principals.filter((p) => p !== anonymous), byTokenDigest, anonymous });
}
