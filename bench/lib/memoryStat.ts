/**
 * What a memory cgroup holds, read the way the kubelet reads a container's: everything charged to
 * it (page cache included), its anonymous and file parts, and the "working set" that `kubectl top`
 * shows and eviction compares, which cAdvisor takes as usage minus inactive file pages. Pure:
 * parses the text of memory.stat for cgroup v1 and v2.
 */

export type CgroupVersion = 1 | 2;

export interface CgroupMemory {
  /** v1 memory.usage_in_bytes, v2 memory.current: what the limit is compared with. */
  usageBytes: number;
  /** Heap, stacks: freed only by the process (or the OOM killer). */
  anonBytes: number;
  /**
   * Page cache charged here: file pages this group was the first to read, such as the node
   * binary when no other group on the machine had it cached. Reclaimable under the limit.
   */
  fileBytes: number;
  /** Of the file pages, those mapped into a process (the binary's code and data). */
  mappedFileBytes: number;
  inactiveFileBytes: number;
  /** usage - inactive_file, floored at 0 (cAdvisor's container_memory_working_set_bytes). */
  workingSetBytes: number;
}

/** memory.stat text: one `key value` per line. */
export function parseMemoryStat(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+) (\d+)$/.exec(line.trim());
    if (match) values.set(match[1] as string, Number(match[2]));
  }
  return values;
}

/**
 * The memory.stat keys of each version. v1 keeps per-group and hierarchical (`total_`) counters;
 * cAdvisor reads the hierarchical ones, which for a group without children are the same.
 */
const KEYS: Readonly<Record<CgroupVersion, Readonly<Record<'anon' | 'file' | 'mapped' | 'inactiveFile', string>>>> = {
  1: { anon: 'total_rss', file: 'total_cache', mapped: 'total_mapped_file', inactiveFile: 'total_inactive_file' },
  2: { anon: 'anon', file: 'file', mapped: 'file_mapped', inactiveFile: 'inactive_file' },
};

/** The group's memory from its usage and memory.stat; undefined when a key is missing. */
export function cgroupMemory(version: CgroupVersion, usageBytes: number, statText: string): CgroupMemory | undefined {
  const stat = parseMemoryStat(statText);
  const keys = KEYS[version];
  const anonBytes = stat.get(keys.anon);
  const fileBytes = stat.get(keys.file);
  const mappedFileBytes = stat.get(keys.mapped);
  const inactiveFileBytes = stat.get(keys.inactiveFile);
  if (anonBytes === undefined || fileBytes === undefined || mappedFileBytes === undefined || inactiveFileBytes === undefined) return undefined;
  return { usageBytes, anonBytes, fileBytes, mappedFileBytes, inactiveFileBytes, workingSetBytes: Math.max(0, usageBytes - inactiveFileBytes) };
}

/** v1 memory.oom_control's `oom_kill` and v2 memory.events' `oom_kill` / `max` lines share a format. */
export function statValue(text: string, key: string): number | undefined {
  return parseMemoryStat(text).get(key);
}
