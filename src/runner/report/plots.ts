/**
 * The report's charts as vega-lite specs: accuracy, fidelity, decode latency and cache
 * memory against budget (one line per policy, the full cache dashed), and per-layer
 * attention mass by key modality (stacked bars).
 */
import type { TopLevelSpec } from 'vega-lite';
import { MODALITIES } from '../../cache/modality.js';
import type { ResultRow } from '../result-row.js';
import { buildGrid, cellStats, REPORT_METRICS, type MetricDef } from './tables.js';

export interface ChartSpec {
  /** File base name (without extension). */
  name: string;
  spec: TopLevelSpec;
}

const metric = (key: string): MetricDef => REPORT_METRICS.find((m) => m.key === key)!;

/** A metric against budget, one line per policy label; null when no row has the metric. */
export function metricVsBudget(rows: readonly ResultRow[], key: string, yTitle: string): TopLevelSpec | null {
  const grid = buildGrid(rows, metric(key));
  const fullLabels = new Set(rows.filter((r) => r.policy === 'full').map((r) => r.label));
  const values: { policy: string; budget: string; value: number; full: boolean }[] = [];
  for (const label of grid.labels) {
    for (const budget of grid.budgets) {
      const s = cellStats(grid, label, budget);
      if (s) values.push({ policy: label, budget, value: s.mean, full: fullLabels.has(label) });
    }
  }
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'budget', type: 'ordinal', sort: grid.budgets, title: 'KV budget (per layer and head)', axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'policy', type: 'nominal', sort: grid.labels, title: 'policy' },
      strokeDash: { field: 'full', type: 'nominal', legend: null, scale: { domain: [false, true], range: [[1, 0], [5, 4]] } },
    },
  };
}

/** Stacked bars: per layer, the share of the text queries' prefill attention landing on each key modality (flow-capture.ts). */
export function attentionMassChart(rows: readonly ResultRow[]): TopLevelSpec | null {
  const withMass = rows.filter((r) => r.modality_mass && r.modality_mass.length > 0);
  // The full cache shows the model's own attention; compressed runs only where it is missing.
  const source = withMass.some((r) => r.policy === 'full') ? withMass.filter((r) => r.policy === 'full') : withMass;
  if (source.length === 0) return null;
  const layers = source[0]!.modality_mass!.length;
  const values: { layer: number; modality: string; mass: number }[] = [];
  for (let l = 0; l < layers; l++) {
    MODALITIES.forEach((m, mi) => {
      const mass = source.reduce((a, r) => a + (r.modality_mass![l]?.[mi] ?? 0), 0) / source.length;
      if (mass > 0) values.push({ layer: l, modality: m, mass });
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: Math.max(240, layers * 28),
    height: 240,
    title: `Text queries' prefill attention mass by key modality (${source[0]!.policy === 'full' ? 'full cache' : 'all runs'})`,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'layer', axis: { labelAngle: 0 } },
      y: { field: 'mass', type: 'quantitative', stack: 'normalize', title: 'share of attention mass' },
      color: { field: 'modality', type: 'nominal', sort: [...MODALITIES], title: 'key modality' },
    },
  };
}

export function reportCharts(rows: readonly ResultRow[]): ChartSpec[] {
  const charts: (ChartSpec | null)[] = [
    chart('accuracy-vs-budget', metricVsBudget(rows, 'accuracy', 'task accuracy')),
    chart('fidelity-vs-budget', metricVsBudget(rows, 'top1_agreement', 'top-1 agreement with the full cache')),
    // The median step when the rows have it: a shared machine's slow steps move the mean, not the median.
    chart(
      'decode-latency-vs-budget',
      rows.some((r) => typeof r.decode_ms_median === 'number')
        ? metricVsBudget(rows, 'decode_ms_median', 'decode ms per token (median step)')
        : metricVsBudget(rows, 'decode_ms_per_token', 'decode ms per token'),
    ),
    chart('memory-vs-budget', metricVsBudget(rows, 'total_bytes', 'KV cache KiB (incl. retention)')),
    chart('attention-mass-by-modality', attentionMassChart(rows)),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}

function chart(name: string, spec: TopLevelSpec | null): ChartSpec | null {
  return spec ? { name, spec } : null;
}
