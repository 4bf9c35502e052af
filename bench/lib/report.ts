// The table printed at the end and the JSON written to bench/results/latest.json.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { DeploymentResult } from './deployment.ts';
import type { Settings } from './settings.ts';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started and ended: other work skews req/s. */
  loadAverage: { start: number; end: number };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const startLoad = round2(loadavg()[0]!);

export function machine(): Machine {
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // no nproc: availableParallelism says the same
  }
  return {
    nproc,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: { start: startLoad, end: round2(loadavg()[0]!) },
  };
}

export interface Row {
  deployment: string;
  target: string;
  requestsPerSecond: number;
  p99Ms: number;
  /** requests/s ÷ the baseline's requests/s; 1 for the baseline itself. */
  ratio: number | null;
  unexpected: number;
  /** CPU during the measured run, % of one core: server process, and autocannon. */
  serverCpu: number;
  loadGeneratorCpu: number;
  /** Server CPU µs per request, and the bare server's µs ÷ this one's (a ratio that ignores machine noise). */
  cpuUsPerRequest: number;
  cpuRatio: number | null;
  /** For a row with a reference (LoadSpec.reference): req/s and CPU ratios to that row. */
  refRatio: number | null;
  refCpuRatio: number | null;
  coldStartMs: number | null;
  rssIdleMb: number | null;
  rssAfterLoadMb: number | null;
}

export function rows(deployments: DeploymentResult[]): Row[] {
  const baseline = deployments.find((d) => d.baseline)?.targets[0];
  const base = baseline?.requestsPerSecond ?? null;
  const baseCpu = baseline?.serverCpuUsPerRequest ?? null;
  const out: Row[] = [];
  const refOf = (ref: { deployment: string; target: string } | undefined) =>
    ref
      ? deployments
          .find((d) => d.name === ref.deployment)
          ?.targets.find((t) => t.target === ref.target)
      : undefined;
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  for (const d of deployments) {
    d.targets.forEach((t, i) => {
      const ref = refOf(t.reference);
      out.push({
        deployment: d.name,
        target: t.target,
        requestsPerSecond: Math.round(t.requestsPerSecond),
        p99Ms: t.latencyMs.p99,
        ratio: base ? Math.round((t.requestsPerSecond / base) * 100) / 100 : null,
        unexpected: t.unexpected,
        serverCpu: t.cpuPercent.server,
        loadGeneratorCpu: t.cpuPercent.loadGenerator,
        cpuUsPerRequest: t.serverCpuUsPerRequest,
        cpuRatio: baseCpu ? Math.round((baseCpu / t.serverCpuUsPerRequest) * 100) / 100 : null,
        refRatio: ref ? ratio(t.requestsPerSecond, ref.requestsPerSecond) : null,
        refCpuRatio: ref ? ratio(ref.serverCpuUsPerRequest, t.serverCpuUsPerRequest) : null,
        coldStartMs: i === 0 ? Math.round(d.coldStartMs) : null,
        rssIdleMb: i === 0 ? d.rssIdle.rssMb : null,
        rssAfterLoadMb: i === 0 ? d.rssAfterLoad.rssMb : null,
      });
    });
  }
  return out;
}

function cell(v: string | number | null): string {
  return v === null ? '' : String(v);
}

export function table(data: Row[]): string {
  const head = [
    'deployment',
    'target',
    'req/s',
    'p99 ms',
    'ratio to bare',
    'non-200',
    'CPU server/ac %',
    'server CPU µs/req',
    'CPU ratio',
    'ratio to ref',
    'ref CPU ratio',
    'cold start ms',
    'RSS idle MB',
    'RSS after load MB',
  ];
  const body = data.map((r) => [
    r.deployment,
    r.target,
    cell(r.requestsPerSecond),
    cell(r.p99Ms),
    r.ratio === null ? '' : r.ratio.toFixed(2),
    cell(r.unexpected),
    `${r.serverCpu}/${r.loadGeneratorCpu}`,
    cell(r.cpuUsPerRequest),
    r.cpuRatio === null ? '' : r.cpuRatio.toFixed(2),
    r.refRatio === null ? '' : r.refRatio.toFixed(2),
    r.refCpuRatio === null ? '' : r.refCpuRatio.toFixed(2),
    cell(r.coldStartMs),
    cell(r.rssIdleMb),
    cell(r.rssAfterLoadMb),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export interface Report {
  date: string;
  machine: Machine;
  settings: {
    durationSeconds: number;
    warmupSeconds: number;
    connections: number;
    idleMs: number;
    serverLogLevel: string;
  };
  rows: Row[];
  deployments: DeploymentResult[];
  skipped: Array<{ deployment: string; reason: string }>;
}

export function buildReport(
  settings: Settings,
  serverLogLevel: string,
  deployments: DeploymentResult[],
  skipped: Report['skipped'],
): Report {
  return {
    date: new Date().toISOString(),
    machine: machine(),
    settings: {
      durationSeconds: settings.durationSeconds,
      warmupSeconds: settings.warmupSeconds,
      connections: settings.connections,
      idleMs: settings.idleMs,
      serverLogLevel,
    },
    rows: rows(deployments),
    deployments,
    skipped,
  };
}

export function writeJson(path: string, report: Report) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Memory and start-up per deployment, beside the bare baseline: cold start, idle RSS, the
 * start-up peak (VmHWM read at the idle reading) and, for Gatehouse, the CLI set-up before the
 * start (`user create` on a fresh data directory or database).
 */
export function memoryTable(deployments: DeploymentResult[]): string {
  const head = [
    'deployment',
    'cold start ms',
    'RSS idle MB',
    'peak (VmHWM) MB',
    'CLI set-up ms',
    'CLI peak MB',
  ];
  const body = deployments.map((d) => [
    d.name,
    cell(d.coldStartMs),
    cell(d.rssIdle.rssMb),
    cell(d.rssIdle.peakMb),
    cell(d.setupMs),
    cell(d.setupPeakMb),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
