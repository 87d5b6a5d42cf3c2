// The lab pages and the command table (scripts/labs/labs.ts) agree: every command a page shows is
// run by a test, verbatim; every page has its Expected outcome with a generated results block.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAB_COMMANDS, pageCommands, STUDENT_OUT } from '../../scripts/labs/labs.ts';
import { NOTES_PATH, renderInstructorNotes } from '../../scripts/labs/render-instructor-notes.ts';
import { pageQuestions, QUESTIONS, resolvePath } from '../../scripts/labs/questions.ts';
import { renderEntry } from '../../scripts/labs/render-results.ts';
import { ROOT, smokeLine } from './run-lab.ts';

const dir = join(ROOT, 'docs/labs');
const pages = readdirSync(dir).filter((p) => /^\d\d-.*\.md$/.test(p)).sort();

describe('lab pages', () => {
  it('there are at least the nine labs, and the index links each one', () => {
    expect(pages.length).toBeGreaterThanOrEqual(9);
    const index = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const p of pages) expect(index, p).toContain(`(${p})`);
  });

  it('every page has goal, command, what to look at, questions and an expected outcome', () => {
    for (const p of pages) {
      const md = readFileSync(join(dir, p), 'utf8');
      for (const h of ['## Goal', '## Run', '## What to look at', '## Questions', '## Expected outcome']) expect(md,
        `${p}: ${h}`).toContain(h);
    }
  });

  it('each command of the table is on its page verbatim, in a ```sh block, with its results block', () => {
    for (const c of LAB_COMMANDS) {
      const md = readFileSync(join(dir, c.page), 'utf8');
      expect(pageCommands(md), `${c.id} on ${c.page}`).toContain(c.cmd);
      expect(md, `${c.id} results block`).toContain(`<!-- results:${c.id} -->`);
      expect(md, `${c.id} results block end`).toContain(`<!-- /results:${c.id} -->`);
    }
  });

  it('every command a page shows in a ```sh block is in the table (so a test runs it)', () => {
    const known = new Set(LAB_COMMANDS.map((c) => c.cmd));
    for (const p of pages) for (const cmd of pageCommands(readFileSync(join(dir, p), 'utf8'))) expect(known.has(cmd),
      `${p}: "${cmd}" is not run by any test`).toBe(true);
  });

  it('smoke lines only append flags, and the scripts the commands name exist', () => {
    for (const c of LAB_COMMANDS) {
      expect(smokeLine(c).startsWith(c.cmd.split(' > ')[0])).toBe(true);
      const script = /(scripts\/[\w/.-]+\.(?:ts|sh)|loadgen\/[\w/.-]+\.ts)/.exec(c.cmd);
      if (script) expect(existsSync(join(ROOT, script[1])), script[1]).toBe(true);
    }
  });

  it('every question of every page with a lab command is in scripts/labs/questions.ts, naming figures of a command of its page', () => {
    for (const p of new Set(LAB_COMMANDS.map((c) => c.page))) {
      const asked = pageQuestions(readFileSync(join(dir, p), 'utf8'));
      expect(asked.length, `${p} has questions`).toBeGreaterThan(0);
      const listed = QUESTIONS.filter((q) => q.page === p).map((q) => q.n);
      expect(listed, `${p}: questions.ts lists exactly the page's questions`).toEqual(asked);
    }
    for (const q of QUESTIONS) {
      const c = LAB_COMMANDS.find((x) => x.id === q.cmd);
      expect(c?.page, `${q.page} Q${q.n}: its command ${q.cmd} is on the same page`).toBe(q.page);
      expect(q.needs.length, `${q.page} Q${q.n} names the figures it needs`).toBeGreaterThan(0);
    }
  });

  it('no page leaves output to an unset $OUT or writes to the reference folder; commands write under labs-out/', () => {
    for (const p of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
      const md = readFileSync(join(dir, p), 'utf8').replace(/<!-- results:[\s\S]*?<!-- \/results:[\w-]+ -->/g, '');
      expect(md, `${p} uses $OUT`).not.toMatch(/\$OUT\b|%OUT%|\$env:OUT/);
    }
    for (const c of LAB_COMMANDS) {
      expect(c.cmd, `${c.id} writes into the reference results`).not.toContain('docs/labs/out');
      for (const m of c.cmd.matchAll(/--(?:out|json|png|html) (\S+)/g)) expect(m[1].startsWith(`${STUDENT_OUT}/`),
        `${c.id}: ${m[0]} is not under ${STUDENT_OUT}/`).toBe(true);
    }
    const ignore = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignore, `.gitignore ignores ${STUDENT_OUT}/`).toContain(`/${STUDENT_OUT}/`);
  });

  it('every figure a question needs, and every figure its expected answer quotes, is in the reference results', () => {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { commands: Record<string, { figures?: unknown }> };
    for (const q of QUESTIONS) {
      const figures = r.commands[q.cmd]?.figures;
      if (!figures) continue; // not measured yet (or skipped): the notes say so
      const quoted = [...q.answer.matchAll(/\{\{([^}]+)\}\}/g)].map((m) => m[1]);
      for (const p of [...q.needs, ...quoted]) expect(resolvePath(figures, p).length, `${q.page} Q${q.n}: ${p}`).toBeGreaterThan(0);
    }
  });

  it('the instructor notes are what questions.ts and results.json render (npx tsx scripts/labs/render-instructor-notes.ts)', () => {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { commands: Parameters<typeof renderInstructorNotes>[0] };
    const pages = Object.fromEntries([...new Set(QUESTIONS.map((q) => q.page))].map((p) => [p, readFileSync(join(dir, p), 'utf8')]));
    expect(readFileSync(join(ROOT, NOTES_PATH), 'utf8')).toBe(renderInstructorNotes(r.commands, pages));
  });

  it('results.json has an entry for every command, and the pages show exactly what it renders', () => {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { commands: Record<string,
      Parameters<typeof renderEntry>[0] & { cmd: string }> };
    for (const c of LAB_COMMANDS) {
      const e = r.commands[c.id];
      expect(e, `results.json: ${c.id}`).toBeDefined();
      expect(e.cmd, `${c.id}: results were taken with the command on the page`).toBe(c.cmd);
      expect(e.loadAvgBefore.length).toBe(3);
      const md = readFileSync(join(dir, c.page), 'utf8');
      expect(md, `${c.page}: block ${c.id} is stale (npx tsx scripts/labs/render-results.ts)`).toContain(renderEntry(e).trimEnd());
    }
  });
});
