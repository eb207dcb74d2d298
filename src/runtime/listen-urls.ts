import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The URLs a server bound to `address` answers at, for the start-up log line. A wildcard address
 * (`::` or `0.0.0.0`: every interface) is spelled out as the machine's interface addresses, so the
 * line says where the server can be reached rather than naming one loopback address.
 * IPv6 link-local addresses are left out: a URL with one needs a zone id no browser takes.
 *
 * @example listeningUrls({ address: '127.0.0.1', family: 'IPv4', port: 8080 }) // ['http://127.0.0.1:8080']
 */
export function listeningUrls(address: AddressInfo, scheme = 'http'): string[] {
  const url = (host: string, family: string): string => `${scheme}://${family === 'IPv6' ? `[${host}]` : host}:${address.port}`;
  const wildcard = address.address === '::' || address.address === '0.0.0.0';
  if (!wildcard) return [url(address.address, address.family)];
  // `::` also takes IPv4 (dual stack); `0.0.0.0` takes IPv4 alone.
  const families = address.address === '::' ? ['IPv4', 'IPv6'] : ['IPv4'];
  return Object.values(networkInterfaces()).flatMap((list) => list ?? [])
    .filter((i) => families.includes(i.family) && !i.address.startsWith('fe80:'))
    .map((i) => url(i.address, i.family));
}
