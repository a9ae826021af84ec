// The task body of the pool children: the same work as the raw child.
export interface Task {
  readonly op: 'tiny' | 'echo';
  readonly arg: unknown;
}

export function handle({ op, arg }: Task): unknown {
  return op === 'tiny' ? (arg as number) + 1 : arg;
}
