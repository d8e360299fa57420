/** The shared body budget: reservations fit or are refused whole, and leases give back once. */
import { createBodyBudget } from '../../src/proxy/bodyBudget';

test('tryAcquire reserves only what fits, release gives it back', () => {
  const budget = createBodyBudget(100);
  expect(budget.tryAcquire(60)).toBe(true);
  expect(budget.tryAcquire(41)).toBe(false);
  expect(budget.used).toBe(60);
  budget.release(60);
  expect(budget.tryAcquire(100)).toBe(true);
});

test('a lease grows until the budget is full and is released once, however often it is asked', () => {
  const budget = createBodyBudget(100);
  const first = budget.lease();
  const second = budget.lease();
  expect(first.grow(70)).toBe(true);
  expect(second.grow(40)).toBe(false);
  expect(second.grow(30)).toBe(true);
  expect(budget.used).toBe(100);
  first.release();
  first.release();
  expect(budget.used).toBe(30);
  expect(first.grow(10)).toBe(false); // a released lease holds nothing more
  second.release();
  expect(budget.used).toBe(0);
});

test('peak is the most ever held at once, kept after the bytes are given back', () => {
  const budget = createBodyBudget(100);
  const lease = budget.lease();
  expect(lease.grow(40)).toBe(true);
  expect(budget.tryAcquire(50)).toBe(true);
  expect(budget.tryAcquire(20)).toBe(false); // a refusal never counts towards the peak
  budget.release(50);
  lease.release();
  expect(budget.used).toBe(0);
  expect(budget.peak).toBe(90);
});
