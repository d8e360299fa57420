/**
 * Node flags the sidecar is meant to run with: the container image's entrypoint, `make run` and
 * the benchmark all use these (tests check the first two), so what is measured is what ships.
 * The measurements behind each flag are in docs/performance.md.
 *
 * --max-semi-space-size=2 (MiB, default 16): a smaller young generation. The sidecar allocates
 * little that lives long, so scavenges stay cheap; it cut peak RSS under load by 5-19 MiB
 * with no measurable loss of throughput.
 *
 * --heap-growing-percent=15: after a full collection the old generation may grow 15% before the
 * next one, instead of the several times V8 otherwise allows, so promoted per-request garbage does
 * not pile up (~20 MiB less peak RSS at 64 connections, throughput unchanged).
 *
 * --liftoff-only: WebAssembly runs on V8's baseline compiler only. The one wasm module is undici's
 * HTTP parser, and V8's background TurboFan recompile of it after the first call was the
 * sidecar's peak RSS (+~50 MiB for ~150 ms); throughput and CPU per request did not move.
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=15', '--liftoff-only'];
