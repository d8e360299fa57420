/**
 * Where a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file) spends its time: self time
 * per function and per area (node core, each npm package, each folder of the sidecar's own
 * code, GC, idle). Pure.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  /** Where the function is: area plus file:line (1-based), or the pseudo-frame's name. */
  location: string;
  area: string;
  selfMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of sampled time not idle, 0..1. */
  busyShare: number;
  functions: SelfTime[];
  areas: Array<{ area: string; selfMs: number; share: number }>;
}

const PSEUDO_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Which part of the process a frame belongs to, from its script URL. */
export function areaOf(functionName: string, url: string): string {
  if (PSEUDO_FRAMES.has(functionName) && url === '') return functionName;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return (parts[0] ?? '').startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? 'node_modules');
  }
  const source = /\/dist\/(src\/[^/]+)\//.exec(url) ?? /\/(src\/[^/]+)\//.exec(url);
  if (source) return `sidecar ${source[1]}`;
  const top = /\/dist\/(src\/[^/]+\.js)$/.exec(url);
  if (top) return `sidecar ${top[1]}`;
  return 'other';
}

function shortFile(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time per node from the sample stream: each sample owns the time until the next one
 * (timeDeltas[i + 1]); without samples, hitCount times the mean interval.
 */
function selfMicrosByNode(profile: CpuProfile): Map<number, number> {
  const byNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    for (let index = 0; index < samples.length; index += 1) {
      const next = deltas[index + 1] ?? 0;
      const node = samples[index] as number;
      byNode.set(node, (byNode.get(node) ?? 0) + Math.max(0, next));
    }
    return byNode;
  }
  const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
  for (const node of profile.nodes) byNode.set(node.id, (node.hitCount ?? 0) * interval);
  return byNode;
}

export function summariseProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const micros = selfMicrosByNode(profile);
  const functions = new Map<string, SelfTime>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const self = micros.get(node.id) ?? 0;
    if (self === 0) continue;
    total += self;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(functionName, url);
    const name = functionName === '' ? '(anonymous)' : functionName;
    const location = url === '' ? name : `${shortFile(url)}:${lineNumber + 1}`;
    const key = `${name}@${location}`;
    const entry = functions.get(key) ?? { name, location, area, selfMs: 0, share: 0 };
    entry.selfMs += self / 1000;
    functions.set(key, entry);
    areas.set(area, (areas.get(area) ?? 0) + self / 1000);
  }
  const totalMs = total / 1000;
  const share = (ms: number): number => (totalMs > 0 ? ms / totalMs : 0);
  const idleMs = areas.get('(idle)') ?? 0;
  return {
    totalMs,
    busyShare: share(totalMs - idleMs),
    functions: [...functions.values()]
      .map((entry) => ({ ...entry, share: share(entry.selfMs) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
    areas: [...areas.entries()]
      .map(([area, selfMs]) => ({ area, selfMs, share: share(selfMs) }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}
