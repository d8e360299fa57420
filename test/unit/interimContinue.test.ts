import { InterimContinueFilter } from '../../src/proxy/interimContinue';

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Feeds `parts` in order and returns everything the parser would have seen. */
function through(filter: InterimContinueFilter, parts: string[]): string {
  return parts.map((part) => filter.take(Buffer.from(part, 'latin1'))?.toString('latin1') ?? '').join('');
}

describe('InterimContinueFilter', () => {
  test('a final answer passes at once, untouched', () => {
    const filter = new InterimContinueFilter();
    expect(filter.take(Buffer.from(OK))?.toString()).toBe(OK);
  });

  test('100s before the final answer are dropped, in one chunk or cut anywhere', () => {
    const whole = CONTINUE + CONTINUE + OK;
    for (let cut = 1; cut < whole.length; cut += 1) {
      const filter = new InterimContinueFilter();
      expect(through(filter, [whole.slice(0, cut), whole.slice(cut)])).toBe(OK);
      expect(filter.dropped).toBe(2);
    }
  });

  test('a status line that only starts like a 100 is held, then passed whole', () => {
    const filter = new InterimContinueFilter();
    expect(filter.take(Buffer.from('HTTP/1.1 10'))).toBeNull();
    expect(filter.take(Buffer.from('3 Early Hints\r\n\r\n'))?.toString()).toBe('HTTP/1.1 103 Early Hints\r\n\r\n');
    expect(filter.dropped).toBe(0);
  });

  test('body bytes are never inspected: a 100 inside a body reaches the parser', () => {
    const filter = new InterimContinueFilter();
    const answer = `HTTP/1.1 200 OK\r\nContent-Length: ${CONTINUE.length}\r\n\r\n`;
    expect(through(filter, [answer, CONTINUE])).toBe(answer + CONTINUE);
  });

  test('a new request arms it again', () => {
    const filter = new InterimContinueFilter();
    expect(through(filter, [CONTINUE + OK])).toBe(OK);
    filter.requestStarted();
    expect(through(filter, [CONTINUE, OK])).toBe(OK);
    expect(filter.dropped).toBe(2);
  });

  test('past 32 interim answers or an 8 KiB interim head, the rest goes to the parser to fail there', () => {
    const many = new InterimContinueFilter();
    expect(through(many, [CONTINUE.repeat(40)])).toBe(CONTINUE.repeat(8));
    const long = new InterimContinueFilter();
    const head = `HTTP/1.1 100 Continue\r\nX-Pad: ${'a'.repeat(9000)}`;
    expect(through(long, [head])).toBe(head);
  });
});
