/**
 * Apply a unified diff to one file's text, in Node (lab 7 runs where no `patch` program exists, such
 * as Windows). Each hunk's old lines (context and removals) must appear exactly once, in order;
 * line numbers are only a hint. Throws when a hunk does not apply, as `patch` would refuse.
 */
export function applyPatch(text: string, diff: string): string {
  const hunks = diff.split('\n@@').slice(1).map((h) => h.split('\n').slice(1).filter((l) => l.length > 0 && ' +-'.includes(l[0])));
  let lines = text.split('\n');
  let from = 0;
  for (const h of hunks) {
    const oldLines = h.filter((l) => l[0] !== '+').map((l) => l.slice(1));
    const newLines = h.filter((l) => l[0] !== '-').map((l) => l.slice(1));
    const at = findBlock(lines, oldLines, from);
    if (at < 0) throw new Error(`hunk does not apply:\n${h.join('\n')}`);
    lines = [...lines.slice(0, at), ...newLines, ...lines.slice(at + oldLines.length)];
    from = at + newLines.length;
  }
  return lines.join('\n');
}

function findBlock(lines: string[], block: string[], from: number): number {
  for (let i = from; i + block.length <= lines.length; i++) if (block.every((b, k) => lines[i + k] === b)) return i;
  return -1;
}
