import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AtomMQError, ConfigError } from '../errors/index.js';
import { loadAccessFile, type AccessRules, type Grant, type Principal } from './access-file.js';
import { fingerprint, hashSecret, parseHash, tokenDigest, verifySecret, type SecretHash } from './secrets.js';

/** Both schemes a client may answer with (RFC 9110 11.6.1 allows several challenges in one header). */
export const CHALLENGE = 'Bearer realm="atommq", Basic realm="atommq"';

/** Verdicts kept: enough for every client of a busy server, bounded so that random credentials cannot grow it. */
const CACHE_SIZE = 10_000;
/** How long the file must be quiet before it is read: editors write in several steps. */
const SETTLE_MS = 50;

/** Checked against when a Basic user is unknown, so that the answer takes as long as for a known one. Made when first needed: it costs a hash. */
let decoy: SecretHash | undefined;

export type AccessEvent = { readonly type: 'reloaded' } | { readonly type: 'invalid'; readonly error: ConfigError };

function unauthorized(detail: string): AtomMQError {
  return new AtomMQError('UNAUTHORIZED', detail, { headers: { 'WWW-Authenticate': CHALLENGE } });
}

/** The principal of a verdict, or the 401 of credentials that name none. */
function known(verdict: Principal | null): Principal {
  if (verdict === null) throw unauthorized('the credentials given (Authorization) match no principal of the access file');
  return verdict;
}

/**
 * Who a request is, from the access file (`--access`), kept current while the server runs. Tokens
 * are looked up by their digest; passwords (and the tokens of older files) are checked by scrypt,
 * which is slow by design. The verdict for each presented Authorization is kept, under a digest
 * of it, until the file changes.
 */
export class AccessControl {
  private rules: AccessRules;
  /** By fingerprint of the Authorization header: the principal, null for none, or the check still under way. */
  private readonly verdicts = new Map<string, Principal | null | Promise<Principal | null>>();
  private watcher: FSWatcher | undefined;
  private pending: NodeJS.Timeout | undefined;

  /** Loads the file; throws a ConfigError naming the file and the field. */
  constructor(readonly path: string) {
    this.rules = loadAccessFile(path);
  }

  /** The principals with a name (not `anonymous`), for tests and the start-up log. */
  get principals(): readonly Principal[] {
    return this.rules.principals;
  }

  /**
   * The principal an Authorization header names: the anonymous one when there is none; a 401
   * (UNAUTHORIZED, with the challenges) when it names none. Synchronous once the verdict is known,
   * so that the check of a known client costs a digest and a lookup, not a tick.
   */
  authenticate(authorization: string | undefined): Principal | Promise<Principal> {
    if (authorization === undefined || authorization === '') return this.rules.anonymous;
    const key = fingerprint(authorization);
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const checked = this.verify(authorization);
      verdict = checked instanceof Promise ? this.settled(key, checked) : checked;
      // Insertion order is age: the oldest goes first.
      if (this.verdicts.size >= CACHE_SIZE) this.verdicts.delete(this.verdicts.keys().next().value as string);
      this.verdicts.set(key, verdict);
    }
    return verdict instanceof Promise ? verdict.then(known) : known(verdict);
  }

  /** A verdict still under way, which puts itself in its place once known. */
  private settled(key: string, checking: Promise<Principal | null>): Promise<Principal | null> {
    const pending = checking.then((principal) => {
      // Unless the file was reloaded meanwhile (the map was cleared) or the entry evicted.
      if (this.verdicts.get(key) === pending) this.verdicts.set(key, principal);
      return principal;
    });
    return pending;
  }

  /**
   * The grant check of one request: 401 when anonymous and not allowed, 403 when known and not
   * allowed. Synchronous (returns undefined or throws) once the credentials' verdict is known.
   */
  require(authorization: string | undefined, feed: string, grant: Grant): Promise<void> | undefined {
    const principal = this.authenticate(authorization);
    if (principal instanceof Promise) return principal.then((p) => this.allow(p, feed, grant));
    this.allow(principal, feed, grant);
    return undefined;
  }

  private allow(principal: Principal, feed: string, grant: Grant): void {
    if (principal.may(feed, grant)) return;
    if (principal === this.rules.anonymous) throw unauthorized(`"${grant}" on feed "${feed}" needs credentials: a Bearer token or a Basic user`);
    throw new AtomMQError('FORBIDDEN', `principal "${principal.name}" has no "${grant}" grant on feed "${feed}"`);
  }

  /** The principal, or null: at once for a token found by its digest, or for any when there is no scrypt to try. */
  private verify(authorization: string): Principal | null | Promise<Principal | null> {
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const credentials = authorization.slice(space + 1).trim();
    if (space < 0 || credentials === '') return null;
    if (scheme === 'bearer') return this.byToken(credentials);
    if (scheme !== 'basic') return null;
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return this.byPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
  }

  private async byPassword(user: string, password: string): Promise<Principal | null> {
    const principal = this.rules.principals.find((p) => p.user === user);
    const ok = await verifySecret(password, principal?.passwordHash ?? (decoy ??= parseHash(hashSecret('decoy')) as SecretHash));
    return ok && principal ? principal : null;
  }

  private byToken(token: string): Principal | null | Promise<Principal | null> {
    const principal = this.rules.byTokenDigest.get(tokenDigest(token));
    if (principal) return principal;
    return this.rules.principals.some((p) => p.tokenHashes.length > 0) ? this.byScryptToken(token) : null;
  }

  private async byScryptToken(token: string): Promise<Principal | null> {
    for (const principal of this.rules.principals) {
      for (const hash of principal.tokenHashes) {
        if (await verifySecret(token, hash)) return principal;
      }
    }
    return null;
  }

  /** Starts following the file: a good edit replaces the rules (and forgets every verdict), a broken one keeps the last good rules. */
  watch(listener: (event: AccessEvent) => void): void {
    // The directory, not the file: an editor that saves by renaming a new file over it would end a watch on the file.
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== name) return;
      clearTimeout(this.pending);
      this.pending = setTimeout(() => listener(this.reload()), SETTLE_MS);
    });
    this.watcher.on('error', (error) => {
      listener({ type: 'invalid', error: new ConfigError(`--access ${this.path}: no longer watched (${error.message}); the access rules stay as they were`) });
    });
  }

  close(): void {
    this.watcher?.close();
    clearTimeout(this.pending);
  }

  private reload(): AccessEvent {
    try {
      if (!existsSync(this.path)) throw new ConfigError(`--access ${this.path}: is gone; the access rules stay as they were`);
      this.rules = loadAccessFile(this.path);
      this.verdicts.clear();
      return { type: 'reloaded' };
    } catch (error) {
      // Anything at all, so that no edit can end a running server or open it.
      return { type: 'invalid', error: error instanceof ConfigError ? error : new ConfigError(`--access ${this.path}: ${String(error)}`, { cause: error }) };
    }
  }
}
