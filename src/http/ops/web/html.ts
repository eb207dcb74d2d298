import type { Response } from 'express';
import { escapeAttribute } from '../../../atom/escape.js';

/**
 * Escapes a value for HTML text or a double-quoted attribute: every value a page shows (feed and
 * group names, URLs, entry fields) goes through it.
 */
export const html = escapeAttribute;

const STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd}
td.n,th.n{text-align:right}pre{background:#f4f4f4;padding:.6em;overflow-x:auto;white-space:pre-wrap}
form{display:grid;gap:.5em;max-width:40em}label{display:grid;gap:.2em}button{justify-self:start;padding:.3em 1.2em}
input,textarea{font:inherit;padding:.3em}textarea{min-height:4em}
#entries li{border-bottom:1px solid #eee;padding:.4em 0;list-style:none}#entries{padding:0}
.meta{color:#666;font-size:.85em}a{color:#0645ad}`;

/** A whole page: `body` is HTML already escaped; `script`, the path of a module script to load. */
export function page(title: string, body: string, script?: string): string {
  const scriptTag = script ? `<script type="module" src="${html(script)}"></script>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${html(title)}</title>
<style>${STYLE}</style>${scriptTag}</head><body>${body}</body></html>`;
}

/**
 * What a page may load: the server's own scripts and streams, images from anywhere (as a feed reader
 * shows an entry's), and nothing else. No inline script runs, so were markup an entry holds ever to
 * reach a page unescaped, it could still run nothing; the content frame (entry-page.ts) inherits it.
 */
const POLICY = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src * data:; style-src 'unsafe-inline'; "
  + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Sends a page: never cached, since every page shows the feeds as they are now. */
export function sendHtml(res: Response, body: string): void {
  res.set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': POLICY }).type('html').send(body);
}
