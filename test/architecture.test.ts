import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/tmp.js';

/**
 * Keeps the dependency direction of design.md: a module imports only what its layer allows.
 * Reads the import statements of every source file; fails naming the offending import.
 */
const SRC = path.join(repoRoot, 'src');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

async function imports(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!);
}

/** Layer of a file: its first directory under src/ (or the file name for top-level files). */
function layer(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.ts$/, '');
}

const ALLOWED: Record<string, string[]> = {
  core: [],
  config: ['core'],
  directory: ['core'],
  mailstore: ['core'],
  // Local delivery goes through the mail store's interface, never its Maildir files.
  delivery: ['core', 'directory/types', 'mailstore/types'],
  security: ['core'],
  queue: ['core'],
  protocols: ['core', 'config', 'directory/types', 'mailstore/types', 'delivery/types', 'security/types'],
  daemon: ['core', 'config', 'directory/types'],
  cli: ['core', 'config', 'compose', 'directory'],
};

describe('architecture', () => {
  it('keeps the layering of design.md', async () => {
    const violations: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const from = layer(file);
      const allowed = ALLOWED[from];
      if (!allowed) continue; // compose.ts and main.ts may import anything
      for (const spec of await imports(file)) {
        if (!spec.startsWith('.')) {
          if (from === 'core' && !spec.startsWith('node:')) violations.push(`${path.relative(SRC, file)} imports package ${spec}`);
          continue;
        }
        const target = path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '');
        const to = target.split(path.sep)[0]!;
        if (to === from) continue;
        if (!allowed.some((a) => target === a || target.startsWith(a + path.sep) || to === a)) {
          violations.push(`${path.relative(SRC, file)} → ${target}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps wire libraries in protocols: policy and delivery know no SMTP server types or replies', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      if (layer(file) === 'protocols') continue;
      for (const spec of await imports(file)) {
        if (/^smtp-server(\/|$)/.test(spec) || /protocols\//.test(spec)) offenders.push(`${path.relative(SRC, file)} → ${spec}`);
      }
    }
    // compose.ts wires the listeners: the one file outside protocols that may name them.
    expect(offenders.filter((o) => !o.startsWith('compose.ts'))).toEqual([]);
  });

  it('keeps concrete directory backends out of protocols and the daemon', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      if (!['protocols', 'daemon'].includes(layer(file))) continue;
      for (const spec of await imports(file)) {
        if (/directory\/(mysql|passwd-file|schemes)|mailstore\/maildir/.test(spec)) offenders.push(`${path.relative(SRC, file)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
