// autocannon ships no type declarations and @types/autocannon is not installed; these cover
// the part of its programmatic API the benchmarks use.

declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    timeout?: number;
    pipelining?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    title?: string;
  }

  interface Result {
    url: string;
    title?: string;
    requests: Histogram;
    latency: Histogram;
    throughput: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    start: Date;
    finish: Date;
  }

  interface Instance extends PromiseLike<Result> {
    stop(): void;
    on(event: 'done', listener: (result: Result) => void): this;
  }

  function autocannon(options: Options): Instance;

  export default autocannon;
  export type { Histogram, Instance, Options, Result };
}
