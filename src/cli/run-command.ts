/** Running a worker's `--exec` command: through the shell, the message on stdin, its fields in the environment. */
import { spawn } from 'node:child_process';

/** A command that did not exit 0. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

/**
 * Runs `command` through the shell with `input` on its stdin and `env` added to this process's
 * environment; resolves when it exits 0, rejects with a {@link CommandFailed} otherwise.
 *
 * @example await runCommand('jq .title', JSON.stringify(entry), { ATOMMQ_SEQ: '42' });
 */
export function runCommand(command: string, input: string, env: Readonly<Record<string, string>>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    // A command that does not read its stdin closes the pipe early: that is not a failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new CommandFailed(signal ? `the command was killed by ${signal}` : `the command exited with code ${code}`));
    });
  });
}
