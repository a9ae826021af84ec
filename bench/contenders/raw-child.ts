// Child side of the raw IPC limit and of fork-per-call: the least a child can do per message.
interface Request {
  readonly id: number;
  readonly op: 'tiny' | 'echo';
  readonly arg: unknown;
}

const send = process.send!.bind(process);
const reply = (m: Request): void => {
  send({ id: m.id, value: m.op === 'tiny' ? (m.arg as number) + 1 : m.arg });
};

// The handler is attached before the import settles: IPC messages that arrive with no listener are lost.
const importUrl = process.argv[2];
let ready: Promise<void> | undefined = importUrl
  ? import(importUrl).then(() => {
      ready = undefined;
    })
  : undefined;

process.on('message', (m: Request) => {
  if (ready) void ready.then(() => reply(m));
  else reply(m);
});
