/**
 * The one generator of committed artefacts (dashboards, alert rules, metrics and configuration references, k8s copies). `make generate` runs it;
 * tests compare the committed files with what it renders, so they cannot drift.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderConfigurationDoc } from '../cli/configurationDoc';
import { renderAlertRuleFiles } from './alerts/rules';
import { renderDashboardFiles } from './dashboards/render';
import { renderK8sCopies } from './k8sFiles';
import { renderMetricsDoc } from './metricsDoc';

/** The repository root: the nearest folder holding package.json (works from src/ and dist/). */
function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

const REPO_ROOT = findRepoRoot(__dirname);

/**
 * Repository-relative path -> file content. The k8s/ copies are rendered from the other
 * generated files as they are about to be written, so one run leaves everything consistent.
 */
export function renderAll(root = REPO_ROOT): Record<string, string> {
  const generated = { ...renderDashboardFiles(), ...renderAlertRuleFiles(), ...renderMetricsDoc(), ...renderConfigurationDoc() };
  return { ...generated, ...renderK8sCopies(root, generated) };
}

export function writeAll(root: string): string[] {
  const files = renderAll(root);
  for (const [relative, content] of Object.entries(files)) {
    const target = path.join(root, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return Object.keys(files).sort();
}

if (require.main === module) {
  for (const file of writeAll(REPO_ROOT)) process.stdout.write(`wrote ${file}\n`);
}
