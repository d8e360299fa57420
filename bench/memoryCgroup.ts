/**
 * A memory cgroup for `--memory` to start sidecars in, as a container runtime starts a pod's
 * container: cgroup v2 where the machine's memory controller is there, else v1. Needs root and a
 * writable /sys/fs/cgroup; without them the caller gets the reason and measures /proc only.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgroupMemory, statValue, type CgroupMemory, type CgroupVersion } from './lib/memoryStat';

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/memory';

/** v1 and v2 name the same figures differently. */
const FILES: Readonly<Record<CgroupVersion, { usage: string; peak: string; limit: string; events: string }>> = {
  1: { usage: 'memory.usage_in_bytes', peak: 'memory.max_usage_in_bytes', limit: 'memory.limit_in_bytes', events: 'memory.oom_control' },
  2: { usage: 'memory.current', peak: 'memory.peak', limit: 'memory.max', events: 'memory.events' },
};

export interface MemoryCgroup {
  version: CgroupVersion;
  dir: string;
  read(): CgroupMemory | undefined;
  /** The kernel's high-water mark of usage (v1 since the last resetPeak; v2 since creation, Linux 5.19+). */
  peakBytes(): number | undefined;
  /** Starts a new high-water mark; false where the kernel cannot (v2 resets per open file only). */
  resetPeak(): boolean;
  /** Times usage reached the limit and the kernel had to reclaim (page cache first) to charge more. */
  limitHits(): number | undefined;
  /** Times the OOM killer killed a process in the group. */
  oomKills(): number | undefined;
  /** An argv that runs `command` inside the group from its first instruction: its charges start there. */
  launcher(command: string): [string, ...string[]];
  /** rmdir; the group's page cache goes to its parent. Fails while a process is still inside. */
  remove(): void;
}

function rootFor(): { version: CgroupVersion; root: string } | string {
  const controllers = path.join(V2_ROOT, 'cgroup.controllers');
  if (existsSync(controllers)) {
    if (/\bmemory\b/.test(readFileSync(controllers, 'utf8'))) return { version: 2, root: V2_ROOT };
    return `cgroup v2 at ${V2_ROOT} has no memory controller`;
  }
  if (existsSync(path.join(V1_ROOT, 'memory.limit_in_bytes'))) return { version: 1, root: V1_ROOT };
  return `no memory cgroup at ${V2_ROOT} (v2) or ${V1_ROOT} (v1)`;
}

/** A new group `<name>-<pid>` with `limitBytes` as its hard limit (no swap); a string says why there is none. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | string {
  const found = rootFor();
  if (typeof found === 'string') return found;
  const { version, root } = found;
  const files = FILES[version];
  const dir = path.join(root, `${name}-${process.pid}`);
  try {
    mkdirSync(dir);
  } catch (error) {
    return `cannot create ${dir} (run as root with /sys/fs/cgroup writable): ${error instanceof Error ? error.message : String(error)}`;
  }
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const number = (file: string): number | undefined => {
    const text = read(file)?.trim();
    return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
  };
  try {
    if (!existsSync(path.join(dir, files.usage))) throw new Error(`${dir} has no ${files.usage}: the memory controller is not enabled for groups under ${root}`);
    writeFileSync(path.join(dir, files.limit), String(limitBytes));
    // No swap, as in a pod: the limit is a ceiling.
    const swap = path.join(dir, version === 1 ? 'memory.memsw.limit_in_bytes' : 'memory.swap.max');
    if (existsSync(swap)) writeFileSync(swap, version === 1 ? String(limitBytes) : '0');
  } catch (error) {
    rmdirSync(dir);
    return `cannot set up ${dir}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return {
    version,
    dir,
    read: () => {
      const usage = number(files.usage);
      const stat = read('memory.stat');
      return usage === undefined || stat === undefined ? undefined : cgroupMemory(version, usage, stat);
    },
    peakBytes: () => number(files.peak),
    resetPeak: () => {
      if (version !== 1) return false;
      writeFileSync(path.join(dir, files.peak), '0');
      return true;
    },
    limitHits: () => {
      // With swap accounting on, v1 charges memory+swap first, so that counter fails first.
      if (version === 1) return Math.max(number('memory.failcnt') ?? 0, number('memory.memsw.failcnt') ?? 0);
      const text = read(files.events);
      return text === undefined ? undefined : statValue(text, 'max');
    },
    oomKills: () => {
      const text = read(files.events);
      return text === undefined ? undefined : statValue(text, 'oom_kill');
    },
    launcher: (command) => ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, command],
    remove: () => {
      if (existsSync(dir)) rmdirSync(dir);
    },
  };
}
