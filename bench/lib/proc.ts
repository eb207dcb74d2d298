/**
 * What a process holds, from Linux's /proc: its resident set and its open file descriptors. Both
 * are the process's own (all its threads), never the machine's or its children's.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A `<field>: <n> kB` line of /proc/<pid>/status, in bytes. */
function statusBytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/**
 * RssAnon of a process, in bytes: the part of VmRSS that is its own memory (heaps, stacks), not
 * pages of mapped files (code, SQLite's shared memory) that the kernel may drop and read again.
 */
export function anonRssOf(pid: number): number {
  return statusBytes(pid, 'RssAnon');
}

/** Open file descriptors of a process (sockets, files, pipes, eventfds): the entries of /proc/<pid>/fd. */
export function openHandles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
