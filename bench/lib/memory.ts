// Resident memory of a process, from Linux's /proc.

import { readFileSync } from 'node:fs';

export interface Rss {
  /** Resident set size now, in MiB. */
  rssMb: number;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakMb: number;
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${name} in /proc status`);
  return Math.round((Number(m[1]) / 1024) * 10) / 10;
}

/** VmRSS and VmHWM of a live process. */
export function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: field(status, 'VmRSS'), peakMb: field(status, 'VmHWM') };
}
