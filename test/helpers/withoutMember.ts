import { objectLayout } from '../../src/observe/jsonLayout';
import { topLevelMemberCut } from '../../src/observe/jsonText';

/** `text` with its first top-level member `key` cut out as the proxy cuts it; undefined when it is not an object or has none. */
export function withoutMember(text: string, key: string): string | undefined {
  const bytes = Buffer.from(text, 'utf8');
  const layout = objectLayout(bytes);
  const cut = layout && topLevelMemberCut(bytes, layout, key);
  return cut && bytes.toString('utf8', 0, cut[0]) + bytes.toString('utf8', cut[1]);
}
