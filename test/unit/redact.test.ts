/** URLs in logs and error messages lose userinfo, query and fragment, parseable or not. */
import { redactUrl } from '../../src/log/redact';

test.each([
  ['plain URL unchanged', 'http://collector:4318/v1/metrics', 'http://collector:4318/v1/metrics'],
  ['userinfo', 'https://user:s3cret@collector/v1/metrics', 'https://[redacted]@collector/v1/metrics'],
  ['query', 'http://collector/v1/metrics?api_key=s3cret&x=1', 'http://collector/v1/metrics?[redacted]'],
  ['fragment', 'http://collector/#token=s3cret', 'http://collector/#[redacted]'],
  ['inside a flag value, unparseable', 'openai=http://u:s3cret@[bad/v1?key=s3cret', 'openai=http://[redacted]@[bad/v1?[redacted]'],
  ['inside a quoted message, the quote survives', '--upstream "x=http://h/?k=s3cret": bad', '--upstream "x=http://h/?[redacted]": bad'],
])('%s', (_name, input, expected) => {
  expect(redactUrl(input)).toBe(expected);
  expect(redactUrl(input)).not.toContain('s3cret');
});
