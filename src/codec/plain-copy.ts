import { types } from 'node:util';

/**
 * A stream's items are taken when they are yielded (the generator may change an object after it
 * yields it), but sent together, in one IPC message, a little later. Serializing each item on its
 * own (v8.serialize, then deserialize in the parent) costs several times what IPC spends on it
 * within a message: this copies the common case, small plain data, in a few property reads, and
 * IPC clones the copies once, with the message.
 *
 * Only what structured clone would give back unchanged is copied: primitives but symbols, plain
 * objects (prototype Object.prototype or null; own enumerable string keys, as structured clone
 * reads them, getters included) and arrays without holes or extra properties; an object seen twice
 * in the item is copied once, so that shared parts and cycles stay as structured clone keeps them.
 * Anything else (a class instance, a Date, a Map, a typed array, a Proxy, a function, a symbol),
 * or an item larger than a small budget, is left to v8's serializer: `undefined` is returned.
 */
export function plainCopy(value: object): object | undefined {
  const copier = new Copier();
  let copy: object;
  try {
    copy = copier.copy(value) as object;
  } catch {
    // A getter that throws, a Proxy: the serializer names the part that cannot be sent.
    return undefined;
  }
  return copier.failed ? undefined : copy;
}

/** Objects and arrays in one item, and values in all, beyond which the serializer is as cheap. */
const maxContainers = 32;
const maxValues = 512;

class Copier {
  failed = false;
  readonly #seen: object[] = [];
  readonly #copies: object[] = [];
  #values = 0;

  copy(value: unknown): unknown {
    if (this.failed) return undefined;
    if (++this.#values > maxValues) return this.#fail();
    if (value === null) return value;
    const type = typeof value;
    if (type === 'symbol' || type === 'function') return this.#fail();
    if (type !== 'object') return value;
    const object = value as object;
    const at = this.#seen.indexOf(object);
    if (at >= 0) return this.#copies[at];
    if (this.#seen.length >= maxContainers || types.isProxy(object)) return this.#fail();
    const prototype = Object.getPrototypeOf(object) as unknown;
    if (prototype === Array.prototype && Array.isArray(object)) return this.#copyArray(object as unknown[]);
    if (prototype === Object.prototype || prototype === null)
      return this.#copyObject(object as Record<string, unknown>);
    return this.#fail();
  }

  #copyArray(array: unknown[]): unknown[] | undefined {
    const length = array.length;
    // Holes and extra properties survive structured clone, not this copy: left to the serializer.
    if (length > maxValues || Object.keys(array).length !== length) return this.#fail();
    const copy: unknown[] = new Array<unknown>(length);
    this.#seen.push(array);
    this.#copies.push(copy);
    for (let index = 0; index < length; index++) {
      if (!(index in array)) return this.#fail();
      copy[index] = this.copy(array[index]);
    }
    return copy;
  }

  #copyObject(object: Record<string, unknown>): object | undefined {
    const copy: Record<string, unknown> = {};
    this.#seen.push(object);
    this.#copies.push(copy);
    for (const key of Object.keys(object)) {
      // Assigned, it would set the copy's prototype; structured clone makes it an own property.
      if (key === '__proto__') return this.#fail();
      copy[key] = this.copy(object[key]);
    }
    return copy;
  }

  #fail(): undefined {
    this.failed = true;
    return undefined;
  }
}
