/**
 * What a pod pays in memory (`make bench ARGS=--memory` and the RSS/anonymous rows of `make bench`):
 * /proc and memory-cgroup parsers with text as this kernel and cgroup v1/v2 write it, the peaks
 * of a phase, the report, and the sampler's anonymous peak against a real child process.
 */
import { memoryFigures, peakOf, renderMemoryMarkdown, type MemoryResults } from '../../bench/lib/memoryReport';
import { cgroupMemory, parseMemoryStat, statValue } from '../../bench/lib/memoryStat';
import { BENCH_USAGE, parseBenchOptions } from '../../bench/lib/options';
import { parseProcStatus, parseSmapsRollup, readMemory, readSmapsRollup, RssSampler } from '../../bench/lib/procfs';
import { startAllocatingChild } from '../helpers/allocatingChild';

const STATUS = 'Name:\tnode\nVmHWM:\t   63360 kB\nVmRSS:\t   61956 kB\nRssAnon:\t   19904 kB\nRssFile:\t   42036 kB\nRssShmem:\t      16 kB\nThreads:\t11\n';

const SMAPS_ROLLUP = [
  '00400000-7ffed5fd6000 ---p 00000000 00:00 0                              [rollup]',
  'Rss:               61956 kB',
  'Pss:               39263 kB',
  'Pss_Anon:          19824 kB',
  'Shared_Clean:      42036 kB',
  'Shared_Dirty:          0 kB',
  'Private_Clean:        16 kB',
  'Private_Dirty:     19904 kB',
  'Referenced:        61956 kB',
  'Anonymous:         19904 kB',
  'Swap:                  0 kB',
  'SwapPss:               0 kB',
  '',
].join('\n');

// v1 counts a group's own pages and, as total_*, its children's too; cAdvisor reads total_*.
// Here most of the memory is in a child group.
const V1_STAT = 'cache 4096\nrss 8192\nmapped_file 0\ninactive_file 4096\nactive_file 0\ntotal_cache 68931584\ntotal_rss 20381696\ntotal_mapped_file 38625280\ntotal_inactive_file 68886528\ntotal_active_file 45056\n';
const V2_STAT = 'anon 20381696\nfile 68931584\nkernel 1200128\nfile_mapped 38625280\nshmem 0\ninactive_anon 20377600\nactive_anon 4096\ninactive_file 68886528\nactive_file 45056\n';

describe('/proc memory readings', () => {
  it('reads RSS with its anonymous and file-backed parts from status', () => {
    expect(parseProcStatus(STATUS)).toEqual({ rssKb: 61956, hwmKb: 63360, anonKb: 19904, fileKb: 42036 + 16 });
    // Kernels before 4.5 have VmRSS without the split: no figure rather than zero.
    const old = parseProcStatus('VmHWM:\t 10 kB\nVmRSS:\t 9 kB\n');
    expect(old).toMatchObject({ rssKb: 9, hwmKb: 10 });
    expect(old?.anonKb).toBeUndefined();
    expect(old?.fileKb).toBeUndefined();
  });

  it('reads smaps_rollup and refuses text missing a field', () => {
    expect(parseSmapsRollup(SMAPS_ROLLUP)).toEqual({ rssKb: 61956, pssKb: 39263, sharedCleanKb: 42036, sharedDirtyKb: 0, privateCleanKb: 16, privateDirtyKb: 19904, anonymousKb: 19904, swapKb: 0 });
    // Pss_Anon must not be taken for Pss.
    expect(parseSmapsRollup(SMAPS_ROLLUP.replace(/^Pss: .*$/m, ''))).toBeUndefined();
  });

  it('reads this process, whose anonymous part is inside its RSS', () => {
    const status = readMemory(process.pid);
    const rollup = readSmapsRollup(process.pid);
    expect(status?.anonKb).toBeGreaterThan(0);
    expect((status?.anonKb ?? 0) + (status?.fileKb ?? 0)).toBe(status?.rssKb);
    expect(rollup?.pssKb).toBeGreaterThan(0);
    expect(rollup?.pssKb).toBeLessThanOrEqual(rollup?.rssKb ?? 0);
  });

  it("keeps the largest anonymous sample, which a child's allocation raises", async () => {
    const child = startAllocatingChild();
    try {
      await child.ready;
      const sampler = new RssSampler(child.pid, 1_000).start();
      const before = sampler.anonymousPeakKb as number;
      await child.allocate();
      sampler.stop();
      // Buffer.alloc's 64 MiB are anonymous pages, so they show there and not as file pages.
      expect((sampler.anonymousPeakKb as number) - before).toBeGreaterThan(60 * 1024);
    } finally {
      child.kill();
    }
  });
});

test('--memory selects the memory section instead of the benchmark', () => {
  expect(parseBenchOptions([]).memory).toBe(false);
  expect(parseBenchOptions(['--memory', '--quick'])).toMatchObject({ memory: true, quick: true });
  expect(BENCH_USAGE).toContain('--memory');
});

describe('memory cgroup readings', () => {
  it('parses memory.stat and the v1 OOM and v2 event counters', () => {
    expect(parseMemoryStat(V2_STAT).get('file_mapped')).toBe(38625280);
    expect(statValue('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n', 'oom_kill')).toBe(2);
    expect(statValue('low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n', 'max')).toBe(7);
  });

  it.each([
    [1, V1_STAT],
    [2, V2_STAT],
  ] as const)('gives cgroup v%d usage, its parts and the working set the kubelet sees', (version, stat) => {
    expect(cgroupMemory(version, 90869760, stat)).toEqual({
      usageBytes: 90869760,
      anonBytes: 20381696,
      fileBytes: 68931584,
      mappedFileBytes: 38625280,
      inactiveFileBytes: 68886528,
      workingSetBytes: 90869760 - 68886528,
    });
  });

  it('floors the working set at zero and refuses a stat of the other version', () => {
    expect(cgroupMemory(2, 1000, V2_STAT)?.workingSetBytes).toBe(0);
    // v2 has no total_* keys, v1 no `anon`: reading the wrong version must not give zeros.
    expect(cgroupMemory(1, 90869760, V2_STAT)).toBeUndefined();
    expect(cgroupMemory(2, 90869760, V1_STAT)).toBeUndefined();
  });
});

describe('the memory report', () => {
  it('takes each figure at its own peak, and leaves unread figures out', () => {
    const peak = peakOf([{ rssKb: 80_000, anonKb: 40_000 }, { rssKb: 70_000, anonKb: 45_000, usageBytes: 10 }, { rssKb: 75_000 }]);
    expect(peak).toEqual({ rssKb: 80_000, anonKb: 45_000, usageBytes: 10 });
    expect(peakOf([])).toEqual({});
  });

  it('joins status, smaps and cgroup into one set of figures', () => {
    const figures = memoryFigures(parseProcStatus(STATUS), cgroupMemory(1, 90869760, V1_STAT), parseSmapsRollup(SMAPS_ROLLUP));
    expect(figures).toMatchObject({ rssKb: 61956, anonKb: 19904, pssKb: 39263, privateKb: 16 + 19904, cgroupFileBytes: 68931584, workingSetBytes: 90869760 - 68886528 });
    expect(memoryFigures(undefined, undefined).rssKb).toBeUndefined();
  });

  it('renders phases in MiB, the second sidecar as what it added, and says when there was no cgroup', () => {
    const mib = 1024 * 1024;
    const results: MemoryResults = {
      meta: { mode: 'quick' },
      limitBytes: 192 * mib,
      phases: [
        { name: 'idle', kind: 'reading', figures: { rssKb: 60 * 1024, anonKb: 20 * 1024, usageBytes: 98 * mib, workingSetBytes: 21 * mib } },
        { name: '16 connections', kind: 'peak', figures: { rssKb: 85 * 1024, anonKb: 41 * 1024 } },
      ],
      second: { before: { usageBytes: 98 * mib, cgroupFileBytes: 77 * mib }, after: { usageBytes: 119 * mib, cgroupFileBytes: 77 * mib }, itself: { rssKb: 61 * 1024, anonKb: 20 * 1024 } },
      limitHits: 0,
      oomKills: 0,
      problems: [],
    };
    const markdown = renderMemoryMarkdown(results);
    expect(markdown).toContain('| idle | 60.0 | 20.0 | — | 98.0 | — | — | 21.0 |');
    expect(markdown).toContain('| 16 connections (peak) | 85.0 | 41.0 |');
    expect(markdown).toContain('| usage | 98.0 | 119 | 21.0 |');
    expect(markdown).toContain('| page cache | 77.0 | 77.0 | 0 |');
    expect(markdown).toContain('Group limit 192 MiB: reached 0 times, OOM kills 0.');
    const without = renderMemoryMarkdown({ ...results, second: undefined, cgroupUnavailable: 'no memory cgroup here' });
    expect(without).toContain('No memory cgroup: no memory cgroup here.');
    expect(without).not.toContain('A second sidecar');
  });
});
