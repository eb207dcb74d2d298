/**
 * The README's code blocks, so that the suite runs what a new user copies from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CodeBlock {
  /** The fence's language: `sh`, `js`, ... */
  readonly lang: string;
  /** The nearest heading above the block, without its `#`s. */
  readonly section: string;
  readonly text: string;
}

export function readmeBlocks(): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let section = '';
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of readFileSync(`${ROOT}README.md`, 'utf8').split('\n')) {
    if (open) {
      if (line === '```') {
        blocks.push({ lang: open.lang, section, text: `${open.lines.join('\n')}\n` });
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { lang: line.slice(3), lines: [] };
    else if (line.startsWith('#')) section = line.replace(/^#+\s*/, '');
  }
  return blocks;
}

/**
 * The commands of a shell block: continuation lines joined, comment lines and trailing comments
 * (after two spaces) dropped.
 */
export function commandsOf(block: CodeBlock): string[] {
  return block.text.replace(/\\\n\s*/g, '').split('\n')
    .map((line) => line.replace(/\s{2,}#\s.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
