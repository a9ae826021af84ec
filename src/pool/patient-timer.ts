import { clearTimeout, perfNow, setImmediate, setTimeout } from '../shared/real-clock.js';

/** Later than this, a timer is taken to have waited on this process's blocked event loop. */
const lateMs = 100;
/** How long a second look waits, at most: a round trip or two, and a boot's last steps. */
const secondLookMs = 1_000;

/**
 * A bound on another process that blames it only for time this process listened to it. Timers run
 * before I/O in a turn of the event loop: the verdict waits one turn more, so that what the other
 * process said meanwhile is read first. And a timer that fired late, this process's event loop
 * blocked (a debugger's breakpoint, a long synchronous job, a suspended machine), gives it a second
 * look, `min(ms, 1 s)` later (with `secondLook`): what it said may call for one more round trip (a
 * child heard to be ready only now is sent its call only now), which it could not make while this
 * process was not listening.
 */
export class PatientTimer {
  #timer: NodeJS.Timeout;
  #holds = true;
  #cleared = false;

  constructor(ms: number, expired: () => void, secondLook = false) {
    this.#timer = this.#arm(ms, expired, secondLook);
  }

  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
  }

  /** Whether it keeps this process alive (it does unless told otherwise). */
  hold(yes: boolean): this {
    this.#holds = yes;
    if (yes) this.#timer.ref();
    else this.#timer.unref();
    return this;
  }

  #arm(ms: number, expired: () => void, secondLook: boolean): NodeJS.Timeout {
    const due = perfNow() + ms;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (this.#cleared) return;
        if (secondLook && perfNow() - due > lateMs) this.#timer = this.#arm(Math.min(ms, secondLookMs), expired, false);
        else expired();
      });
    }, ms);
    if (!this.#holds) timer.unref();
    return timer;
  }
}
