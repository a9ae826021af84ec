/**
 * Compile-time assertions for the type tests. Nothing here runs: the files are only type-checked
 * (`noEmit`), by `npm run build:test`.
 */

/** True when A and B are the same type (not merely mutually assignable). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Fails to compile unless its type argument is `true`: `assertType<Equal<A, B>>()`. */
export function assertType<T extends true>(..._: T extends true ? [] : [never]): void {}
