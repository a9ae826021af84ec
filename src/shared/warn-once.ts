/**
 * The library's own warnings, each given once per subject (a module, a class, a pool name) for the
 * life of this copy of the library. They go through `process.emitWarning`, so an app can silence or
 * route them like Node's own, by code.
 */
export type WarningCode =
  | 'RUN_IN_PROCESS_ENTRY_SCRIPT'
  | 'RUN_IN_PROCESS_UNKNOWN_SUBCLASS'
  | 'RUN_IN_PROCESS_UNCONFIGURED_POOL'
  | 'RUN_IN_PROCESS_INLINE'
  | 'RUN_IN_PROCESS_CHILD_THREW'
  | 'RUN_IN_PROCESS_CHILDREN_END_IDLE'
  | 'RUN_IN_PROCESS_CLASS_OFFLOADS_NOTHING'
  | 'RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS'
  | 'RUN_IN_PROCESS_UNREADABLE_JOB'
  | 'RUN_IN_PROCESS_CALLER_GONE'
  | 'RUN_IN_PROCESS_MIXED_WORKERS'
  | 'RUN_IN_PROCESS_CHILD_OUT_OF_REACH';

const given = new Map<WarningCode, Set<unknown>>();

/** Warns unless this code was already given for this subject; `message` is built only when it is given. */
export function warnOnce(code: WarningCode, subject: unknown, message: () => string): void {
  let subjects = given.get(code);
  if (!subjects) given.set(code, (subjects = new Set()));
  // Past a hundred subjects of one code, it has been said enough: the set stays small.
  if (subjects.has(subject) || subjects.size >= 100) return;
  subjects.add(subject);
  process.emitWarning(message(), { code });
}
