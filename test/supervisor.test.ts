/**
 * AtomMQ under a supervisor: `npm start` as the README runs it, signalled as a supervisor or a
 * terminal signals it, and the systemd unit the README ships. The server must get the signal and
 * shut down gracefully, and nothing may be left holding the port.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { CLI, ProcessScope } from './support/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(ROOT, 'examples', 'atommq.service');

const scope = new ProcessScope();
after(scope.cleanUp);

/** Whether something can still listen on the port: false while any process holds it. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function healthy(url: string, output: () => string, exited: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (exited()) throw new Error(`npm start exited early:\n${output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not answer:\n${output()}`);
}

describe('npm start under a supervisor', () => {
  /** `npm start -- <flags>` in its own process group, as a supervisor or a terminal starts it. */
  async function npmStart(): Promise<{ pid: number; port: number; output: () => string; exited: Promise<number | null> }> {
    const { port, feedsDir, dbPath } = await scope.serverArgs('atommq-npm-start-', { orders: {} });
    const child = spawn('npm', ['start', '--', '--port', String(port), '--host', '127.0.0.1', '--feeds', feedsDir,
      '--db', `sqlite:${dbPath}`], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Whatever an assertion does, nothing of the group outlives the test file.
    after(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    await healthy(`http://127.0.0.1:${port}`, () => output, () => child.exitCode !== null);
    return { pid: child.pid as number, port, output: () => output, exited };
  }

  test('SIGTERM to the npm process shuts the server down gracefully and frees the port', { timeout: 60_000 }, async () => {
    const started = await npmStart();
    process.kill(started.pid, 'SIGTERM');
    assert.equal(await started.exited, 0, started.output());
    assert.match(started.output(), /"msg":"SIGTERM received: shutting down gracefully"/, started.output());
    assert.match(started.output(), /"msg":"stopped"/, 'the shutdown ran to its end');
    assert.ok(await portFree(started.port), 'no process is left holding the port');
  });

  test('Ctrl-C in a terminal (SIGINT to the whole process group) shuts it down gracefully', { timeout: 60_000 }, async () => {
    const started = await npmStart();
    process.kill(-started.pid, 'SIGINT');
    assert.equal(await started.exited, 0, started.output());
    assert.match(started.output(), /"msg":"stopped"/, started.output());
    assert.ok(await portFree(started.port), 'no process is left holding the port');
  });
});

describe('examples/atommq.service', () => {
  const unit = readFileSync(UNIT, 'utf8');
  /** `[Section]` -> key -> values, as systemd reads a unit file (comments and blank lines skipped). */
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of unit.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      sections.set(section[1] as string, (current = new Map()));
      continue;
    }
    const pair = /^(\w+)=(.*)$/.exec(line);
    assert.ok(pair && current, `a key=value line inside a section: ${line}`);
    current.set(pair[1] as string, [...(current.get(pair[1] as string) ?? []), pair[2] as string]);
  }
  const service = sections.get('Service');

  test('runs atommq itself, not npm, and stops it with SIGTERM', () => {
    assert.deepEqual([...sections.keys()], ['Unit', 'Service', 'Install']);
    const exec = service?.get('ExecStart')?.[0] ?? '';
    assert.match(exec, /^\/\S+\/atommq serve /, 'an absolute path to the atommq command');
    assert.doesNotMatch(exec, /\bnpm\b/);
    assert.deepEqual(service?.get('KillSignal'), ['SIGTERM']);
    assert.ok(Number(service?.get('TimeoutStopSec')?.[0]) > 10, 'longer than the server\'s own 10 s drain');
  });

  test('its ExecStart flags are ones atommq serve takes', () => {
    const flags = (service?.get('ExecStart')?.[0] ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
    const help = execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    for (const flag of flags) assert.match(help, new RegExp(`^  ${flag} `, 'm'), `atommq serve takes ${flag}`);
  });

  const analyze = (() => {
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('systemd-analyze verify finds nothing to say about it', { skip: !analyze && 'systemd-analyze is not installed' }, () => {
    // verify insists that ExecStart's program exists: point it at this checkout's CLI.
    const dir = scope.tempDir('atommq-unit-');
    const copy = join(dir, 'atommq.service');
    writeFileSync(copy, unit.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${CLI}`));
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(`${result.stdout}${result.stderr}`, '', 'no warning either (an unknown key is only a warning)');
  });
});

