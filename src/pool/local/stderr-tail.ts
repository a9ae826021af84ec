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
/**
 * `TypeError: …`, `Error [ERR_X]: …`, `ConfigInvalid: …`, `FATAL ERROR: …`, Node's `node: bad option: …`,
 * or a line of text in the `#` block that Node and V8 print when an assertion of theirs fails.
 */
const headLine = /^(?:[\w$.]+(?: \[[\w$.-]+\])?|FATAL ERROR): |^\S*node: |^\s*#\s*\S/;
/** How far above the tail a report's first line is looked for. */
const reachLines = 60;

/**
 * The index of the line that names the error of the report that the line at `start` is part of,
 * when that is above `start`. A report is a block of lines up to a blank one (Node prints one before
 * an uncaught error): the error's name and message, then its frames; V8's native frames, after an
 * out-of-memory or a failed assertion, are a block of their own below the lines that name the
 * failure. The tail must begin inside the report: in its message, or in its frames, not in lines
 * printed after them. Undefined when the tail begins with a blank line, or in no such report: lines
 * a program printed are left as they are.
 */
function reportHead(all: string[], start: number): number | undefined {
  if (start === 0 || blank(all[start]!)) return undefined;
  let top = blockStart(all, start);
  if (top > 0 && frameLine.test(all[top]!)) {
    let above = top - 1;
    while (above > 0 && blank(all[above]!) && top - above < reachLines) above--;
    if (!blank(all[above]!)) top = blockStart(all, above);
  }
  let head = top;
  while (head < start && !headLine.test(all[head]!)) head++;
  if (head >= start) return undefined;
  // After its first frame, a report has only frames (and the blank lines of a native stack).
  let framed = false;
  for (let line = head; line <= start; line++) {
    const text = all[line]!;
    if (frameLine.test(text)) framed = true;
    else if (framed && !blank(text)) return undefined;
  }
  return all.slice(head).some((text) => frameLine.test(text)) ? head : undefined;
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

/**
 * What is kept of a child's stderr as `chunk` comes: the last `limit` characters, cut at a line's
 * start, since a fragment of a line would read as a line of its own; a last line longer than that
 * is kept as its end.
 */
export function keptStderr(kept: string, chunk: string, limit: number): string {
  const joined = kept + chunk;
  if (joined.length <= limit) return joined;
  const lineStart = joined.indexOf('\n', joined.length - limit - 1) + 1;
  return lineStart > 0 && joined.slice(lineStart).trim() !== '' ? joined.slice(lineStart) : joined.slice(-limit);
}
