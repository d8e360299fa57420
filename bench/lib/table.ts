/**
 * The results table: one row per figure, measured directly, through the sidecar, through nginx
 * and through a bare Node forwarder in the same run, with the sidecar's figure as a ratio to the
 * others and the target where it has one. Pure: builds rows and renders them as text or Markdown.
 */
import { difference, ratio } from './stats';

export interface Target {
  op: '<=' | '>=';
  value: number;
}

export interface Row {
  section: string;
  label: string;
  unit: string;
  direct?: number;
  sidecar?: number;
  nginx?: number;
  /** The bare Node forwarder: node:http server + undici pool, none of the sidecar's work. */
  bare?: number;
  /** Sidecar ÷ direct (for "added" rows: the added amount ÷ the direct figure). */
  vsDirect?: number;
  /** Sidecar ÷ nginx (for "added" rows: the sidecar's added amount ÷ nginx's). */
  vsNginx?: number;
  /** Sidecar ÷ bare Node forwarder (for "added" rows: the added amounts). */
  vsBare?: number;
  target?: Target;
}

export interface Measured {
  direct?: number;
  sidecar?: number;
  nginx?: number;
  bare?: number;
}

/** A figure as measured on each path. */
export function valueRow(section: string, label: string, unit: string, measured: Measured, target?: Target): Row {
  return {
    section,
    label,
    unit,
    ...measured,
    vsDirect: ratio(measured.sidecar, measured.direct),
    vsNginx: ratio(measured.sidecar, measured.nginx),
    vsBare: ratio(measured.sidecar, measured.bare),
    target,
  };
}

/** What the sidecar, nginx and the bare forwarder add on top of the direct figure (direct's own column stays empty). */
export function addedRow(section: string, label: string, unit: string, measured: Measured, target?: Target): Row {
  const sidecarAdded = difference(measured.sidecar, measured.direct);
  const nginxAdded = difference(measured.nginx, measured.direct);
  const bareAdded = difference(measured.bare, measured.direct);
  return {
    section,
    label,
    unit,
    sidecar: sidecarAdded,
    nginx: nginxAdded,
    bare: bareAdded,
    vsDirect: ratio(sidecarAdded, measured.direct),
    vsNginx: ratio(sidecarAdded, nginxAdded),
    vsBare: ratio(sidecarAdded, bareAdded),
    target,
  };
}

export type Verdict = 'ok' | 'MISS' | '';

export function verdict(row: Row): Verdict {
  if (!row.target || row.sidecar === undefined) return '';
  const met = row.target.op === '<=' ? row.sidecar <= row.target.value : row.sidecar >= row.target.value;
  return met ? 'ok' : 'MISS';
}

/** Numbers to about three significant digits, thousands grouped; absent as an em dash. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toFixed(3);
}

export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}x`;
}

function formatTarget(row: Row): string {
  if (!row.target) return '';
  const op = row.target.op === '<=' ? '<=' : '>=';
  return `${op} ${formatNumber(row.target.value)} ${verdict(row)}`;
}

const HEADER = ['figure', 'unit', 'direct', 'sidecar', 'nginx', 'bare node', 'sidecar/direct', 'sidecar/nginx', 'sidecar/bare', 'target'];

function cells(row: Row): string[] {
  return [
    row.label,
    row.unit,
    formatNumber(row.direct),
    formatNumber(row.sidecar),
    formatNumber(row.nginx),
    formatNumber(row.bare),
    formatRatio(row.vsDirect),
    formatRatio(row.vsNginx),
    formatRatio(row.vsBare),
    formatTarget(row),
  ];
}

const NUMERIC_COLUMNS = new Set([2, 3, 4, 5, 6, 7, 8]);

/** A plain-text table for the terminal: sections as headings, numbers right-aligned. */
export function renderText(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((title, column) => Math.max(title.length, ...body.map((line) => (line[column] ?? '').length)));
  const format = (line: readonly string[]): string =>
    line
      .map((cell, column) => (NUMERIC_COLUMNS.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const out: string[] = [format(HEADER), widths.map((width) => '-'.repeat(width)).join('  ')];
  let section = '';
  rows.forEach((row, index) => {
    if (row.section !== section) {
      section = row.section;
      out.push(`[${section}]`);
    }
    out.push(format(body[index] as string[]));
  });
  return `${out.join('\n')}\n`;
}

function escapeMarkdown(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}

/** A GitHub Markdown table, one per section. */
export function renderMarkdown(rows: readonly Row[]): string {
  const out: string[] = [];
  let section: string | undefined;
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      if (out.length > 0) out.push('');
      out.push(`### ${section}`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, column) => (NUMERIC_COLUMNS.has(column) ? '---:' : '---')).join('|')}|`);
    }
    out.push(`| ${cells(row).map(escapeMarkdown).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}
