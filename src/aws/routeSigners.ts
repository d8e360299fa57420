/**
 * One signer per route whose requests the sidecar signs (Bedrock), all on one credential cache:
 * the pod has one AWS identity. Nothing is created, and no credential is looked for, when no
 * route needs it.
 */
import type { Route } from '../config/routes';
import { createAwsCredentialCache, type AwsCredentialFailure, type AwsCredentialProvider } from './credentials';
import { createAwsRequestSigner, type AwsRequestSigner } from './sigv4';

export interface RouteSigners {
  /** By route name. */
  readonly signers: ReadonlyMap<string, AwsRequestSigner>;
  /** Fetches the credentials ahead of the first call; never rejects (failures go to onFailure). */
  warm(): Promise<void>;
  close(): void;
}

export interface RouteSignerOptions {
  /** Default: the AWS SDK's default Node credential chain. */
  provider?: AwsCredentialProvider;
  onFailure(failure: AwsCredentialFailure): void;
}

export function createRouteSigners(routes: readonly Route[], options: RouteSignerOptions): RouteSigners {
  const signing = routes.filter((route) => route.signing !== undefined);
  if (signing.length === 0) return { signers: new Map(), warm: async () => undefined, close: () => undefined };
  const credentials = createAwsCredentialCache({ ...(options.provider ? { provider: options.provider } : {}), onFailure: options.onFailure });
  const signers = new Map(
    signing.map((route) => [route.name, createAwsRequestSigner({ region: route.signing?.region ?? '', service: route.signing?.service ?? 'bedrock', credentials })] as const),
  );
  return {
    signers,
    warm: async () => {
      await credentials.warm();
    },
    close: () => credentials.close(),
  };
}
