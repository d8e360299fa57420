/**
 * Kubernetes resource quantities (`500m`, `128Mi`, `0.5`), enough to reject a typo and to
 * compare a request with its limit before the API server does (a request above its limit makes
 * the API server reject the whole pod, which the webhook must never cause).
 */
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const MULTIPLIER: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity's value in base units, or undefined when it is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (MULTIPLIER[match[2] ?? ''] ?? 1);
}
