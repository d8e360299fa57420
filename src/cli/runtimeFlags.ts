/**
 * Node flags the sidecar is meant to run with: the container image's entrypoint, `make run` and
 * the benchmark all use these (tests check the first two), so what is measured is what ships.
 *
 * --max-semi-space-size=2 (MiB, default 16): a smaller young generation. The sidecar allocates
 * little that lives long, so scavenges stay cheap; in `make bench` it cut peak RSS at 64
 * connections by 5-19 MiB (issue 5) with no loss of throughput that the run-to-run noise showed.
 *
 * --heap-growing-percent=15: after a full collection the old generation may grow 15% before the
 * next one (V8 otherwise picks up to several times, and under 64 connections let promoted
 * per-request garbage pile up to a peak RSS of 110-123 MiB with a single full collection in 12 s).
 * Measured here at 64 connections (issue 5): peak RSS 95-104 MiB, 4-5 full collections of 2-3 ms
 * in 12 s, requests per second unchanged within the run-to-run noise.
 *
 * --liftoff-only: WebAssembly runs on V8's baseline compiler only. The one wasm module is undici's
 * HTTP parser (llhttp); after the first call V8 recompiled it with TurboFan on a worker thread,
 * 160-245 ms of CPU whose compiler memory took RSS from 61 to 110 MiB for about 150 ms: that spike
 * was the sidecar's peak RSS (issue 5). With the flag the first call peaks at 74 MiB, peak RSS
 * under 16 connections fell from 109 to 87 MiB, and requests per second (8,101 against 8,039,
 * five interleaved 4 s rounds) and CPU per request did not move beyond the noise.
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=15', '--liftoff-only'];
