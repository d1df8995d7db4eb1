/** Shared check: results.csv mirrors results.jsonl row by row and column by column. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { csvColumns, csvValue, parseCsv } from '../../src/runner/result-row.js';
import { RESULTS_CSV, RESULTS_JSONL, parseResultsJsonl } from '../../src/runner/results-store.js';

/** Every CSV row equals its JSONL row, column by column (per-family and option columns too), in the same order. */
export function expectCsvMatchesJsonl(dir: string): void {
  const rows = parseResultsJsonl(readFileSync(join(dir, RESULTS_JSONL))).rows;
  const csv = parseCsv(readFileSync(join(dir, RESULTS_CSV), 'utf8'));
  const columns = csvColumns(rows);
  expect(csv[0]).toEqual(columns);
  expect(csv.length - 1).toBe(rows.length);
  rows.forEach((r, i) => {
    columns.forEach((c, j) => {
      const cell = csv[i + 1]![j]!;
      const v = csvValue(r, c);
      if (v === null || v === undefined) expect(cell).toBe(''); // rows written before a column existed leave it empty
      else if (typeof v === 'number') expect(Number(cell)).toBe(v);
      else if (typeof v === 'object') expect(JSON.parse(cell)).toEqual(v);
      else expect(cell).toBe(String(v));
    });
  });
}

