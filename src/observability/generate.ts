/**
 * The one generator of committed artefacts (dashboards, alert rules, metrics reference, k8s copies). `make generate` runs it;
 * tests compare the committed files with what it renders, so they cannot drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderAlertRuleFiles } from './alerts/rules';
import { renderDashboardFiles } from './dashboards/render';
import { renderMetricsDoc } from './metricsDoc';

/** Repository-relative path -> file content. */
export function renderAll(): Record<string, string> {
  return { ...renderDashboardFiles(), ...renderAlertRuleFiles(), ...renderMetricsDoc() };
}

export function writeAll(root: string): string[] {
  const files = renderAll();
  for (const [relative, content] of Object.entries(files)) {
    const target = path.join(root, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return Object.keys(files).sort();
}

if (require.main === module) {
  const root = path.resolve(__dirname, '../../..');
  for (const file of writeAll(root)) process.stdout.write(`wrote ${file}\n`);
}
