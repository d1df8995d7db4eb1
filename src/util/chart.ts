/**
 * Chart rendering without a browser or network: vega-lite → vega → SVG (vega's headless
 * SVG renderer), and PNG by drawing that SVG with @napi-rs/canvas (Skia, bundled fonts).
 */
import { writeFileSync } from 'node:fs';
import { Image, createCanvas } from '@napi-rs/canvas';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG at `scale` × its own size (2 = sharp on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const img = new Image();
  img.src = Buffer.from(svg);
  if (!img.width || !img.height) throw new Error('svgToPng: the SVG has no size');
  const canvas = createCanvas(Math.ceil(img.width * scale), Math.ceil(img.height * scale));
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  return canvas.encode('png');
}

/** Writes BASE.svg and BASE.png; returns both paths. */
export async function writeChart(spec: TopLevelSpec, base: string): Promise<{ svg: string; png: string }> {
  const svg = await vegaLiteToSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, await svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}
