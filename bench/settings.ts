export interface Settings {
  readonly quick: boolean;
  /** Children per pool, the same for every contender. */
  readonly size: number;
  readonly rounds: {
    readonly latency: number;
    readonly payload: number;
    readonly throughput: number;
    readonly cold: number;
    /** Of the large-payload echo, each sample one call. */
    readonly big: number;
  };
  /** The large payload echoed once per sample: 64 MiB in a full run, less in quick mode. */
  readonly bigPayloadMiB: number;
  /** Sequential calls per latency sample; a sample is the mean of its batch. */
  readonly tinyBatch: number;
  readonly payloadBatch: number;
  readonly slowBatch: number;
  readonly throughputCalls: number;
  readonly slowThroughputCalls: number;
  readonly memoryCalls: number;
  /** Items in one streamed sample. */
  readonly streamItems: number;
  /** Untimed tiny calls per contender before the first workload: the first thousand or so run several times slower. */
  readonly warmupCalls: number;
  /** A discarded first round per workload; quick mode skips it, the warm-up calls already ran. */
  readonly warmupRound: boolean;
  /** The remote section (remote.ts): a call through Redis costs about ten times a local one, so fewer. */
  readonly remote: Pick<Settings, 'tinyBatch' | 'payloadBatch' | 'throughputCalls' | 'warmupCalls'> & {
    readonly rounds: Pick<Settings['rounds'], 'latency' | 'payload' | 'throughput'>;
  };
}

export const full: Settings = {
  quick: false,
  size: 2,
  rounds: { latency: 21, payload: 25, throughput: 9, cold: 9, big: 7 },
  bigPayloadMiB: 64,
  tinyBatch: 500,
  payloadBatch: 20,
  slowBatch: 2,
  throughputCalls: 10_000,
  slowThroughputCalls: 8,
  memoryCalls: 50_000,
  streamItems: 20_000,
  warmupCalls: 3_000,
  warmupRound: true,
  remote: {
    rounds: { latency: 11, payload: 9, throughput: 5 },
    tinyBatch: 200,
    payloadBatch: 5,
    throughputCalls: 10_000,
    warmupCalls: 2_000,
  },
};

/** For CI smoke runs: about ten seconds, numbers only indicative. */
export const quick: Settings = {
  quick: true,
  size: 2,
  rounds: { latency: 3, payload: 2, throughput: 2, cold: 1, big: 1 },
  bigPayloadMiB: 16,
  tinyBatch: 50,
  payloadBatch: 2,
  slowBatch: 1,
  throughputCalls: 500,
  slowThroughputCalls: 2,
  memoryCalls: 500,
  streamItems: 2_000,
  warmupCalls: 300,
  warmupRound: false,
  remote: {
    rounds: { latency: 3, payload: 2, throughput: 2 },
    tinyBatch: 30,
    payloadBatch: 2,
    throughputCalls: 1_000,
    warmupCalls: 200,
  },
};
