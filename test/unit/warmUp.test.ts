/**
 * The warm-up runs its steps in order after the delay, one per turn of the event loop (I/O and
 * timers get their turn in between), survives a failing step, and stops when cancelled.
 */
import { scheduleWarmUp } from '../../src/warmUp';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('steps run in order, one per event-loop turn, after the delay; a failing step is reported and skipped', async () => {
  const ran: string[] = [];
  const failures: unknown[] = [];
  scheduleWarmUp(
    [
      () => ran.push('a'),
      () => {
        throw new Error('b failed');
      },
      () => ran.push('c'),
    ],
    30,
    (error) => failures.push(error),
  );
  await sleep(10);
  expect(ran).toEqual([]);
  await sleep(40);
  // The first step ran from the timer; each later one waits for its own turn.
  const seen = ran.length;
  expect(seen).toBeGreaterThanOrEqual(1);
  for (let i = 0; i < 5 && ran.length < 2; i += 1) await turn();
  expect(ran).toEqual(['a', 'c']);
  expect(failures).toHaveLength(1);
  expect((failures[0] as Error).message).toBe('b failed');
});

test('a step never shares its turn with the next one', async () => {
  const ran: string[] = [];
  let sameTurn = true;
  scheduleWarmUp(
    [
      () => {
        ran.push('first');
        // A microtask queued by the first step runs before the second step if they are separate turns.
        queueMicrotask(() => (sameTurn = ran.length > 1));
      },
      () => ran.push('second'),
    ],
    0,
    () => undefined,
  );
  await sleep(20);
  expect(ran).toEqual(['first', 'second']);
  expect(sameTurn).toBe(false);
});

test('cancel before the delay runs nothing; cancel midway stops the rest', async () => {
  const early: string[] = [];
  scheduleWarmUp([() => early.push('x')], 20, () => undefined).cancel();
  await sleep(40);
  expect(early).toEqual([]);

  const midway: string[] = [];
  const holder: { warmUp?: { cancel(): void } } = {};
  holder.warmUp = scheduleWarmUp(
    [
      () => {
        midway.push('1');
        holder.warmUp?.cancel();
      },
      () => midway.push('2'),
    ],
    0,
    () => undefined,
  );
  await sleep(30);
  expect(midway).toEqual(['1']);
});
