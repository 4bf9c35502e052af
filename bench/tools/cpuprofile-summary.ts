// Summarises a .cpuprofile (from BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"):
// self time by function and by package/file, and inclusive time of the hottest frames, over the
// whole profile or a window of it (seconds from its start; the timeline printed first shows
// where the load was).
//   node bench/tools/cpuprofile-summary.ts DIR/CPU.*.cpuprofile [top] [from-to]

import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, windowArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/tools/cpuprofile-summary.ts FILE.cpuprofile [top] [from-to]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const [from, to] = (windowArg ?? '0-1e9').split('-').map(Number) as [number, number];
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
const busy: number[] = [];
const all: number[] = [];
let at = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  const second = Math.floor(at / 1e6);
  all[second] = (all[second] ?? 0) + dt;
  const idle = byId.get(id)!.callFrame.functionName === '(idle)';
  if (!idle) busy[second] = (busy[second] ?? 0) + dt;
  if (at / 1e6 < from || at / 1e6 >= to) return;
  self.set(id, (self.get(id) ?? 0) + dt);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log('busy % per second of the profile:');
console.log(all.map((t, s) => `${s}:${Math.round(((busy[s] ?? 0) / (t || 1)) * 100)}`).join(' '));

function where(n: Node): string {
  const url = n.callFrame.url;
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`;

function show(title: string, map: Map<string, number>) {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((v / total) * 100).toFixed(1).padStart(6)}%  ${k}`);
}

const fnSelf = new Map<string, number>();
const pkgSelf = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + t);
  pkgSelf.set(where(n), (pkgSelf.get(where(n)) ?? 0) + t);
  // Inclusive: each distinct frame on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + t);
  }
}
console.log(`sampled ${(total / 1e6).toFixed(2)} s in the window ${from}-${to} s`);
show('self time by package / file', pkgSelf);
show('self time by function', fnSelf);
show('inclusive time by function', inclusive);
