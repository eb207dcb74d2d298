/**
 * Whether parsing and rendering a posted entry stays linear in the body's size whatever its shape
 * (`npm run bench:xml`). Each shape is built at two sizes, 256 KiB and 1 MiB (the default body limit),
 * and parsed and rendered in this process as a POST does, median of BENCH_XML_RUNS (default 7) runs.
 *
 * Two figures per shape: `x plain`, its time over a plain body of the same size (one long text),
 * which is the constant a shape's markup costs; and `exponent`, how its time grows with its size
 * (log of the 1 MiB time over the 256 KiB time, base 4): 1 when the cost is linear, 2 when it is
 * quadratic. fast-xml-parser gathers a text one character at a time, which costs a little more
 * than linear on long texts (an exponent near 1.5 for plain text), hence EXPONENT_LIMIT's margin.
 * The exit code is non-zero when a shape passes EXPONENT_LIMIT or costs more than PLAIN_LIMIT plain
 * bodies. Shapes AtomMQ refuses are timed too: a refusal must come before the cost, not after it.
 */
import { parseEntryXml, type ParsedEntry } from '../src/atom/parse-entry.js';
import { parseEntryJson } from '../src/atom/parse-json-entry.js';
import { renderEntry } from '../src/atom/render-entry.js';
import { AtomMQError } from '../src/errors/index.js';
import { median } from './lib/stats.js';
import { fmtMs, renderTable } from './lib/table.js';

const EXPONENT_LIMIT = 1.75;
const PLAIN_LIMIT = 40;
const SIZES = [256 * 1024, 1024 * 1024] as const;
const RUNS = Number(process.env.BENCH_XML_RUNS ?? 7);

const ATOM = 'http://www.w3.org/2005/Atom';
const XHTML = 'http://www.w3.org/1999/xhtml';
const STAMP = {
  key: 'k', atomId: 'urn:uuid:00000000-0000-4000-8000-000000000001', updated: '2026-01-01T00:00:00Z',
  published: '2026-01-01T00:00:00Z', memberPath: 'feeds/bench/entries/k', pagePath: 'ui/feeds/bench/entries/k',
  defaultAuthor: { name: 'bench' },
};

/** `unit` repeated to fill about `bytes` between the two halves of `around`. */
function fill(bytes: number, [head, tail]: readonly [string, string], unit: string): string {
  return head + unit.repeat(Math.max(1, Math.floor((bytes - head.length - tail.length) / unit.length))) + tail;
}

function declarations(count: number, prefix = 'p'): string {
  return Array.from({ length: count }, (_, i) => ` xmlns:${prefix}${i}="urn:${prefix}${i}"`).join('');
}

/** Around a body's filling: inside an entry, or inside a foreign element of one. */
const IN_ENTRY: [string, string] = [`<entry xmlns="${ATOM}"><title>t</title>`, '</entry>'];
const IN_FOREIGN: [string, string] = [`<entry xmlns="${ATOM}"><x:e xmlns:x="urn:x">`, '</x:e></entry>'];
const IN_TITLE: [string, string] = [`<entry xmlns="${ATOM}"><title>`, '</title></entry>'];
/** The most declarations one element may carry, besides the default namespace's. */
const DECLARATIONS = 99;

type Shape = (bytes: number) => { body: string; json?: boolean };

const SHAPES: Record<string, Shape> = {
  'plain text': (n) => ({ body: fill(n, IN_TITLE, 'x') }),
  '45,000 root declarations, children (issue 10)': (n) => ({ body: fill(n, [`<entry xmlns="${ATOM}"${declarations(45_000)}>`, '</entry>'], '<p0:x/>') }),
  'root declarations, children using them': (n) => ({ body: fill(n, [`<entry xmlns="${ATOM}"${declarations(DECLARATIONS)}>`, '</entry>'], '<p7:x p9:a="1"/>') }),
  'root declarations, children declaring': (n) => ({ body: fill(n, [`<entry xmlns="${ATOM}"${declarations(DECLARATIONS)}>`, '</entry>'], '<x xmlns:q="urn:q"/>') }),
  'nested 98 deep, declaring at each level': (n) => {
    const open = Array.from({ length: 98 }, (_, i) => `<a xmlns:d${i}="urn:d">`).join('');
    return { body: fill(n, IN_FOREIGN, `${open}${'</a>'.repeat(98)}`) };
  },
  'nested 101 deep': (n) => ({ body: fill(n, IN_FOREIGN, '<a>'.repeat(101) + '</a>'.repeat(101)) }),
  'many attributes on one element': (n) => {
    const attrs = Array.from({ length: Math.floor(n / 14) }, (_, i) => ` x:a${i}="v"`).join('');
    return { body: `<entry xmlns="${ATOM}"><x:e xmlns:x="urn:x"${attrs}/></entry>` };
  },
  'many tiny elements': (n) => ({ body: fill(n, IN_FOREIGN, '<a/>') }),
  'many top-level children': (n) => ({ body: fill(n, IN_ENTRY, '<y:e xmlns:y="u"/>') }),
  'xhtml content, many paragraphs': (n) => ({ body: fill(n, [`<entry xmlns="${ATOM}"><content type="xhtml"><div xmlns="${XHTML}">`, '</div></content></entry>'], '<p class="c">a <b>b</b></p>') }),
  'references in text': (n) => ({ body: fill(n, IN_TITLE, '&amp;&#65;&#x1F600;') }),
  'comments': (n) => ({ body: fill(n, IN_FOREIGN, '<!--c-->') }),
  'CDATA sections': (n) => ({ body: fill(n, IN_FOREIGN, '<![CDATA[<x>]]>') }),
  '"<!--" in an attribute': (n) => ({ body: fill(n, [`<entry xmlns="${ATOM}"><title x="`, '">t</title></entry>'], '<!--') }),
  'JSON, many categories': (n) => ({ body: fill(n, ['{"title":"t","categories":[', '"z"]}'], '{"term":"a&<b"},'), json: true }),
  'JSON, xhtml content': (n) => ({ body: JSON.stringify({ contentType: 'xhtml', content: fill(n - 40, ['', ''], '<p>a <b>b</b></p>') }), json: true }),
};

function handle(body: string, json: boolean | undefined): string {
  let parsed: ParsedEntry;
  try {
    parsed = json ? parseEntryJson(JSON.parse(body)) : parseEntryXml(body);
  } catch (error) {
    if (error instanceof AtomMQError) return error.code;
    throw error;
  }
  renderEntry(parsed, STAMP);
  return 'stored';
}

function time(shape: Shape, bytes: number): { ms: number; outcome: string } {
  const { body, json } = shape(bytes);
  // One unmeasured run, so that what is timed is the optimised code, as on a server that has run a while.
  let outcome = handle(body, json);
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const start = process.hrtime.bigint();
    outcome = handle(body, json);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms: median(times), outcome };
}

function main(): void {
  const plain = SIZES.map((bytes) => time(SHAPES['plain text'] as Shape, bytes).ms);
  const rows: string[][] = [];
  const failures: string[] = [];
  for (const [name, shape] of Object.entries(SHAPES)) {
    process.stderr.write(`[bench:xml] ${name}\n`);
    const [small, large] = SIZES.map((bytes) => time(shape, bytes)) as [{ ms: number; outcome: string }, { ms: number; outcome: string }];
    const exponent = Math.log(large.ms / small.ms) / Math.log((SIZES[1] as number) / (SIZES[0] as number));
    const overPlain = large.ms / (plain[1] as number);
    if (exponent > EXPONENT_LIMIT) failures.push(`${name}: its time grows as its size to the power ${exponent.toFixed(2)}`);
    if (overPlain > PLAIN_LIMIT) failures.push(`${name}: ${overPlain.toFixed(1)}x a plain body`);
    rows.push([name, large.outcome, fmtMs(small.ms), fmtMs(large.ms), `${overPlain.toFixed(1)}x`, exponent.toFixed(2)]);
  }
  process.stdout.write(`${renderTable(['shape', 'outcome', 'ms 256 KiB', 'ms 1 MiB', 'x plain', 'exponent'], rows)}\n`);
  if (failures.length) {
    process.stdout.write(`\nNot linear, or too costly:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main();
