/**
 * The last lines of a child's stderr, for the message of its crash or failed boot. When they begin
 * inside a report of an error that started above them (a long stack, a message of many lines, V8's
 * native frames after an out-of-memory), the report's first line (`TypeError: …`, `FATAL ERROR: …`)
 * comes first, since it is what says what went wrong.
 */
export function stderrTail(stderr: string, lines = 12): string {
  const all = stderr.trimEnd().split('\n');
  if (all.length === 1 && all[0] === '') return '';
  const start = Math.max(0, all.length - lines);
  const head = reportHead(all, start);
  const shown =
    head === undefined ? all.slice(start) : [all[head]!, ...(head < start - 1 ? ['…'] : []), ...all.slice(start)];
  return `\nLast lines of its stderr:\n${shown.map((line) => `  | ${line}`).join('\n')}`;
}

/** A stack frame, a "... 3 more" line, or one of V8's native frames (` 1: 0x…`). */
const frameLine = /^\s+(at |\.\.\. )|^\s*\d+: 0x/;
/** `TypeError: …`, `Error [ERR_X]: …`, `ConfigInvalid: …`, `FATAL ERROR: …`, Node's `node: bad option: …`. */
const headLine = /^(?:[\w$.]+(?: \[[\w$.-]+\])?|FATAL ERROR): |^\S*node: /;
/** How far above the tail a report's first line is looked for. */
const reachLines = 60;

/**
 * The index of the first line of the report that the line at `start` is part of, when that is above
 * `start`. A report is a block of lines up to a blank one (Node prints one before an uncaught error),
 * which begins with an error's name and message and holds frames; V8's native frames, after an
 * out-of-memory, are a block of their own below the line that names the failure. Undefined when the
 * tail begins with a blank line, or in no such report: lines a program printed are left as they are.
 */
function reportHead(all: string[], start: number): number | undefined {
  if (start === 0 || blank(all[start]!)) return undefined;
  let top = blockStart(all, start);
  if (top > 0 && frameLine.test(all[top]!)) {
    let above = top - 1;
    while (above > 0 && blank(all[above]!) && top - above < reachLines) above--;
    if (!blank(all[above]!)) top = blockStart(all, above);
  }
  if (top >= start || !headLine.test(all[top]!)) return undefined;
  return all.slice(top).some((text) => frameLine.test(text)) ? top : undefined;
}

/** The first line of the block of non-blank lines that holds `line`, looked for at most `reachLines` up. */
function blockStart(all: string[], line: number): number {
  let top = line;
  while (top > 0 && line - top < reachLines && !blank(all[top - 1]!)) top--;
  return top;
}

function blank(line: string): boolean {
  return line.trim() === '';
}
