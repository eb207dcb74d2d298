import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';

export function autocannonVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('autocannon/package.json') as { version: string }).version;
}

export function machineSummary(): string {
  const list = cpus();
  const model = list[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const ram = (totalmem() / 2 ** 30).toFixed(1);
  return `${list.length} x ${model}, ${ram} GiB RAM, ${platform()} ${release()} ${arch()}`;
}
