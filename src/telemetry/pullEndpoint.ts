/**
 * The page `/metrics` serves: a collection through the pull reader, the collector's view of it,
 * and the exposition in the format the scraper asked for.
 */
import { CONTENT_TYPE, expose, negotiateFormat } from './exposition';
import type { TelemetryPipeline } from './pipeline';
import { ScrapeView } from './scrapeView';
import { SlicePool } from './slicePool';

export interface MetricsPage {
  contentType: string;
  /** The body in slices, each rendered only when the previous one has been written. */
  slices: Iterable<Buffer>;
  /** A slice the socket has sent, for reuse. */
  release(slice: Buffer): void;
}

/** For a pipeline with the prometheus exporter on (the page throws otherwise). */
export function createMetricsPages(telemetry: Pick<TelemetryPipeline, 'collectForPull'>, headerAttributes: readonly string[]): (accept: string | undefined) => Promise<MetricsPage> {
  const view = new ScrapeView(headerAttributes);
  const pool = new SlicePool();
  return async (accept) => {
    const format = negotiateFormat(accept);
    const collected = telemetry.collectForPull();
    if (collected === undefined) throw new Error('the prometheus exporter is off');
    const { resourceMetrics, live } = await collected;
    const families = view.families(resourceMetrics, live);
    return { contentType: CONTENT_TYPE[format], slices: expose(families, format, pool), release: (slice) => pool.release(slice) };
  };
}
