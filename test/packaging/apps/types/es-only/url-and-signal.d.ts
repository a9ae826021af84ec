// The README says the library's declarations need only the global URL and AbortSignal types: a
// consumer with neither @types/node nor the DOM lib declares those two, and nothing else.
declare class URL {
  constructor(url: string, base?: string | URL);
  readonly href: string;
}
declare class AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
}
