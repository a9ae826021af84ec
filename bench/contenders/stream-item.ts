/** The item every streaming contender sends: a small object, as a row of a query would be. */
export function streamItem(i: number): { id: number; name: string; active: boolean } {
  return { id: i, name: `item-${i}`, active: i % 2 === 0 };
}
