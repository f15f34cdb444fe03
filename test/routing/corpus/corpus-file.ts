import { readFileSync } from 'node:fs';

/** One entry of a corpus file: `-- name: X` then one statement (string), entries separated by blank lines. */
export interface CorpusEntry {
  name: string;
  sql: string;
}

export function parseCorpus(text: string): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  let current: { name: string; lines: string[] } | undefined;
  const flush = () => {
    if (current && current.lines.join('').trim() !== '') entries.push({ name: current.name, sql: current.lines.join('\n').trim() });
    current = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    const header = /^--\s*name:\s*(.+?)\s*$/.exec(line);
    if (header) {
      flush();
      current = { name: header[1], lines: [] };
    } else if (line.trim() === '') {
      if (current && current.lines.length > 0) flush();
    } else if (current) {
      current.lines.push(line);
    }
  }
  flush();
  return entries;
}

export function readCorpus(path: string): CorpusEntry[] {
  return parseCorpus(readFileSync(path, 'utf8'));
}
