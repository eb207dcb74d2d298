import type { Request } from 'express';
import type { AppContext } from './context.js';

/**
 * The absolute base URL clients reach this server at, with a trailing slash. Documents carry it as
 * xml:base, so the hrefs stored inside entries can stay relative and be rendered once.
 */
export function baseUrl(req: Request, ctx: AppContext): string {
  return `${ctx.options.baseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}/`;
}

export function feedPath(feed: string): string {
  return `feeds/${feed}`;
}

export function memberPath(feed: string, key: string): string {
  return `feeds/${feed}/entries/${encodeURIComponent(key)}`;
}
