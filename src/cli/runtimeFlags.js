"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.RUNTIME_NODE_FLAGS = void 0;
/**
 * Node flags the sidecar is meant to run with: the container image's entrypoint, `make run` and
 * the benchmark all use these (tests check the first two), so what is measured is what ships.
 *
 * --max-semi-space-size=2 (MiB, default 16): a smaller young generation. The sidecar allocates
 * little that lives long, so scavenges stay cheap; in `make bench` it cut peak RSS at 64
 * connections by 5-19 MiB (issue 5) with no loss of throughput that the run-to-run noise showed.
 */
exports.RUNTIME_NODE_FLAGS = ['--max-semi-space-size=2'];
//# sourceMappingURL=runtimeFlags.js.map