/**
 * The two operations every contender implements: `tiny` returns x + 1, `echo` returns its argument.
 * The streaming contenders also take `stream`: arg items come from the child, the result is how many arrived.
 */
export type Op = 'tiny' | 'echo' | 'stream';

export interface Session {
  call(op: Op, arg: unknown): Promise<unknown>;
  /** Untimed, after each sample: lets leftovers (exiting children) finish before the next contender is timed. */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly size: number;
  /** Module the child imports before its first answer, so cold start includes a real user-module import. */
  readonly coldImport?: string | undefined;
  /** Set for cold starts. The limit then forks one child: the least work that yields a first result. */
  readonly cold?: boolean;
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** Fork-per-call costs tens of milliseconds a call, so the workloads give it far fewer iterations. */
  readonly slow?: boolean;
  /** Workload ids this contender takes part in; all when absent. */
  readonly workloads?: readonly string[];
  /** Untimed work before a cold start, e.g. tearing down a shared pool. */
  prepareCold?(): Promise<void>;
  start(options: StartOptions): Promise<Session>;
}
