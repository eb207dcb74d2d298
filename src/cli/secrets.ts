/** `atommq passwd` and `atommq token`: the secrets of an access file (DESIGN.md section 14). */
import { hashSecret, newToken, tokenDigest } from '../access/secrets.js';
import { out, parse, UsageError } from './common.js';

export const PASSWD_HELP = `Usage: atommq passwd

Reads a password from stdin (without echo on a terminal) and prints its scrypt hash, for the
"passwordHash" of a principal in the access file (--access).
`;

export const TOKEN_HELP = `Usage: atommq token [--json]

Prints a new random Bearer token (256 bits) and its SHA-256 digest, for the "tokenHashes" of a
principal in the access file (--access). Give the token to the client (--token, ATOMMQ_TOKEN);
keep only the digest.
`;

/** A line typed at a terminal, not echoed. */
function readHidden(stdin: NodeJS.ReadStream): Promise<string> {
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n' || c === '\u0004') return done();
        if (c === '\u0003') return done(new UsageError('cancelled'));
        typed = c === '\u007f' ? typed.slice(0, -1) : typed + c;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** All of stdin, less one final line break (`echo secret | atommq passwd`). */
async function readPiped(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function passwd(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) return out(PASSWD_HELP);
  if (positionals.length > 0) throw new UsageError('passwd reads the password from stdin, not from its arguments (they would show in ps and shell history)');
  const password = process.stdin.isTTY ? await readHidden(process.stdin) : await readPiped(process.stdin);
  if (password === '') throw new UsageError('the password is empty');
  await out(`${hashSecret(password)}\n`);
}

export async function token(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return out(TOKEN_HELP);
  if (positionals.length > 0) throw new UsageError(`token takes no arguments, not "${positionals[0]}"`);
  const secret = newToken();
  const hash = tokenDigest(secret);
  await out(values.json ? `${JSON.stringify({ token: secret, hash })}\n` : `token: ${secret}\nhash:  ${hash}\n`);
}
