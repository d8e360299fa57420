/**
 * A real sidecar with one `bedrock` route in front of a fake Bedrock that checks every SigV4
 * signature (fakeAws.ts), exporting to an OTLP receiver, all on loopback. The fake's host names no
 * region, so the route's comes from AWS_REGION, as for a custom endpoint.
 */
import type { AwsCredentialProvider } from '../../src/aws/credentials';
import { resolveRunConfig, type RawFlags } from '../../src/cli/runFlags';
import { createLogger } from '../../src/log/logger';
import { startSidecar, type RunningSidecar } from '../../src/sidecar';
import { startFakeBedrock, type FakeBedrock, type FakeKeyRing } from './fakeAws';
import { startOtlpReceiver, type OtlpReceiver } from './otlpReceiver';

export const BEDROCK_REGION = 'us-east-1';

export interface BedrockSidecar {
  fake: FakeBedrock;
  sidecar: RunningSidecar;
  receiver: OtlpReceiver;
  /** The sidecar's log lines (info and above). */
  logs: string[];
  close(): Promise<void>;
}

export interface BedrockSidecarOptions {
  keys: FakeKeyRing;
  awsCredentials: AwsCredentialProvider;
  answer: Parameters<typeof startFakeBedrock>[0]['answer'];
  flags?: RawFlags;
}

export async function startBedrockSidecar(options: BedrockSidecarOptions): Promise<BedrockSidecar> {
  const fake = await startFakeBedrock({ keys: options.keys, region: BEDROCK_REGION, answer: options.answer });
  const receiver = await startOtlpReceiver();
  const config = resolveRunConfig(
    { listen: '127.0.0.1:0', adminListen: '127.0.0.1:0', upstream: [`bedrock=${fake.url}`], otlpEndpoint: receiver.url, otlpProtocol: 'http/json', exportInterval: '3600000', ...options.flags },
    { AWS_REGION: BEDROCK_REGION },
    'test',
  );
  const logs: string[] = [];
  const sidecar = await startSidecar(config, createLogger('info', 'json', { write: (line) => logs.push(line) }), { awsCredentials: options.awsCredentials });
  return {
    fake,
    sidecar,
    receiver,
    logs,
    close: async () => {
      await sidecar.stop();
      await fake.close();
      await receiver.close();
    },
  };
}
