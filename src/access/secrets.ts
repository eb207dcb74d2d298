/** Hashing and checking the secrets of the access file: passwords as scrypt hashes, Bearer tokens as digests (or, in older files, scrypt hashes). */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** scrypt's cost parameters for new hashes: about 50 ms and 16 MiB each, which is what makes guessing slow. */
const COST = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
/** Beyond this a hash's parameters would let one request make the server allocate too much. */
const MAX_MEM = 64 * 1024 * 1024;

/** `scrypt$N$r$p$<salt>$<key>`, salt and key in base64url: the parameters travel with the hash, so they can change. */
export const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{43})$/;

/** A hash of the access file, parsed. */
export interface SecretHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** The parts of a hash, or a reason it is not one (a message for the access file's validation). */
export function parseHash(hash: string): SecretHash | string {
  const match = HASH_PATTERN.exec(hash);
  if (!match) return 'is not a hash made by `atommq passwd` (scrypt$N$r$p$salt$key)';
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || 128 * N * r * p > MAX_MEM / 2) return 'has scrypt parameters out of range';
  return { N, r, p, salt: Buffer.from(match[4] as string, 'base64url'), key: Buffer.from(match[5] as string, 'base64url') };
}

/**
 * A new hash of `secret`, with a random salt.
 *
 * @example hashSecret('s3cret') // 'scrypt$16384$8$1$…$…'
 */
export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, KEY_BYTES, { ...COST, maxmem: MAX_MEM });
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `secret` is the one `hash` was made from; the keys are compared in constant time. */
export async function verifySecret(secret: string, hash: SecretHash): Promise<boolean> {
  const key = await scryptAsync(secret, hash.salt, hash.key.length, { N: hash.N, r: hash.r, p: hash.p, maxmem: MAX_MEM });
  return timingSafeEqual(key, hash.key);
}

/** `sha256$<digest>`, the digest in base64url: the hash of a token `atommq token` made. */
const DIGEST_PATTERN = /^sha256\$[A-Za-z0-9_-]{43}$/;

/**
 * The hash of a Bearer token as `atommq token` writes it: a SHA-256 digest, not scrypt. Such a
 * token is 256 random bits, which nobody can guess, so a slow hash would protect nothing; and a
 * digest is found by lookup, where scrypt hashes must each be tried in turn, so that every request
 * with an unknown token cost the server one scrypt (~50 ms of a libuv thread) per token hash in
 * the file: a few requests a second kept its thread pool busy.
 *
 * @example tokenDigest('abc') // 'sha256$ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0'
 */
export function tokenDigest(token: string): string {
  return `sha256$${fingerprint(token)}`;
}

/** A token hash of the access file: a digest (as tokenDigest writes it), or an scrypt hash (as earlier versions wrote them). */
export type TokenHash = { readonly digest: string } | SecretHash;

/** The token hash, or a reason it is not one. */
export function parseTokenHash(hash: string): TokenHash | string {
  if (DIGEST_PATTERN.test(hash)) return { digest: hash };
  const scrypt = parseHash(hash);
  return typeof scrypt === 'string' ? 'is not a hash made by `atommq token` (sha256$digest), nor an scrypt hash (scrypt$N$r$p$salt$key)' : scrypt;
}

/** A new Bearer token: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A fast digest of a presented secret: the key of the verdict cache, so that the cache holds no secret itself. */
export function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
