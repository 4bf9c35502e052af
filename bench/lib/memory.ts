// Resident memory and CPU time of a process, from Linux's /proc.

import { readFileSync } from 'node:fs';

/** USER_HZ; 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

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

/** VmHWM of a live process, in MiB. */
export function peakRssOf(pid: number): number {
  return field(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
}

/** CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return ticks / CLOCK_TICKS_PER_SECOND;
}
