/**
 * The peers `--peers` measures, in the order of the table: the one place that lists them. Each
 * is installed by scripts/peers-env.sh under the same name.
 */
import type { PeerDefinition } from './contender';
import { litellm } from './litellm';
import { portkey } from './portkey';

export const PEERS: readonly PeerDefinition[] = [litellm, portkey];
