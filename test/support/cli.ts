/** Running the `atommq` command as a user does: a child process per command, its output and exit. */
import { spawn } from 'node:child_process';
import { CLI } from './server.js';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  /** Called with all of stdout so far whenever more arrives, and a way to signal the process. */
  onStdout?: (stdout: string, kill: (signal: NodeJS.Signals) => void) => void;
}

/** The exit codes scripts rely on (src/cli/exit.ts). */
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, refused: 4, commandFailed: 6, lost: 7 };

/** Runs the CLI; never blocks this process's event loop (the server under test lives in it). */
export function atommq(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ATOMMQ_URL: '', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, (signal) => child.kill(signal));
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin.end(options.input ?? '');
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
