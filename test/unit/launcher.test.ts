/** Which node flags a start lacks, and when the CLI starts itself again (src/cli/launcher.ts). */
import { missingRuntimeFlags, RELAUNCHED_ENV, relaunchFlags } from '../../src/cli/launcher';
import { RUNTIME_NODE_FLAGS } from '../../src/cli/runtimeFlags';

describe('missingRuntimeFlags', () => {
  test('a bare `node main.js` lacks all of them', () => {
    expect(missingRuntimeFlags([], undefined)).toEqual([...RUNTIME_NODE_FLAGS]);
  });

  test('started as the image starts it, none', () => {
    expect(missingRuntimeFlags(RUNTIME_NODE_FLAGS, undefined)).toEqual([]);
  });

  test("a flag the user set to another value is theirs, in the command or in NODE_OPTIONS, with - or _", () => {
    expect(missingRuntimeFlags(['--max-semi-space-size=8'], undefined)).toEqual(['--heap-growing-percent=15', '--liftoff-only']);
    expect(missingRuntimeFlags([], '--max-semi-space-size=4  --inspect')).toEqual(['--heap-growing-percent=15', '--liftoff-only']);
    expect(missingRuntimeFlags(['--max_semi_space_size=8', '--heap_growing_percent=30'], undefined)).toEqual(['--liftoff-only']);
  });

  test('other flags change nothing', () => {
    expect(missingRuntimeFlags(['--enable-source-maps', '--max-old-space-size=96'], '--no-warnings')).toEqual([...RUNTIME_NODE_FLAGS]);
  });
});

describe('relaunchFlags', () => {
  test('`run` without the flags is relaunched with them', () => {
    expect(relaunchFlags(['run', '--listen', '127.0.0.1:9'], [], {})).toEqual([...RUNTIME_NODE_FLAGS]);
  });

  test('never twice, whatever the relaunched process was started with', () => {
    expect(relaunchFlags(['run'], [], { [RELAUNCHED_ENV]: '1' })).toBeUndefined();
  });

  test('short commands run where they are', () => {
    for (const args of [['inject', '-f', '-'], ['--help'], ['--version'], [], ['webhook']]) expect(relaunchFlags(args, [], {})).toBeUndefined();
  });

  test('`run` with every flag already given runs where it is', () => {
    expect(relaunchFlags(['run'], RUNTIME_NODE_FLAGS, {})).toBeUndefined();
  });
});
